#!/usr/bin/env node
// A dipwire consumer in Node: reads events.diplomatic with kafkajs, checks each record's
// headers, validates its value against schemas/diplomatic_event.schema.json and prints
// one JSON line per valid event on stdout. Problems and the summary go to stderr.
//
//   npm ci                       # in this folder, once (or: make examples)
//   KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 node consumer.js --max 10
//
// Options: --brokers HOST:PORT[,...] (default $KAFKA_BOOTSTRAP_SERVERS), --topic NAME
// (default $DIPWIRE_TOPIC_PREFIX + events.diplomatic), --group ID (default a new group, so
// the topic is read from its beginning), --max N (stop after N valid events), --idle-ms MS
// (stop after MS without a record, default 15000), --schemas DIR (default ../../schemas),
// --follow (never stop on idle). Exit status: 0, or 1 when an event failed validation.
"use strict";

const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require("kafkajs");
const fzstd = require("fzstd");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

// dipwire's producers compress with zstd; kafkajs reads gzip by itself and takes
// other codecs as plugins. A consumer only decompresses: fzstd is a pure-JavaScript
// zstd decoder, so nothing native is built.
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async () => {
    throw new Error("this consumer does not produce");
  },
  decompress: async (buffer) => Buffer.from(fzstd.decompress(buffer)),
});

const SCHEMA_HEADER = "dipwire-schema";
const VERSION_HEADER = "dipwire-schema-version";
const SCHEMA_NAME = "diplomatic_event";

function parseArgs(argv) {
  const prefix = process.env.DIPWIRE_TOPIC_PREFIX || "";
  const options = {
    brokers: process.env.KAFKA_BOOTSTRAP_SERVERS || "",
    topic: `${prefix}events.diplomatic`,
    group: `dipwire-example-node-${crypto.randomBytes(4).toString("hex")}`,
    max: Infinity,
    idleMs: 15000,
    schemas: path.resolve(__dirname, "..", "..", "schemas"),
    follow: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      i += 1;
      return argv[i];
    };
    if (flag === "--brokers") options.brokers = next();
    else if (flag === "--topic") options.topic = next();
    else if (flag === "--group") options.group = next();
    else if (flag === "--max") options.max = Number(next());
    else if (flag === "--idle-ms") options.idleMs = Number(next());
    else if (flag === "--schemas") options.schemas = path.resolve(next());
    else if (flag === "--follow") options.follow = true;
    else throw new Error(`unknown option ${flag}`);
  }
  if (!options.brokers) throw new Error("set KAFKA_BOOTSTRAP_SERVERS or pass --brokers");
  return options;
}

// The schema is draft 2020-12 (pydantic writes it). Its $id names the major version
// (urn:dipwire:schema:v4:diplomatic_event): a record of another major is not read.
function loadValidator(schemasDir) {
  const schema = JSON.parse(
    fs.readFileSync(path.join(schemasDir, `${SCHEMA_NAME}.schema.json`), "utf8"),
  );
  const major = Number(/:v(\d+):/.exec(schema.$id)[1]);
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  // published_at is copied as the producer sent it; a date-time without an offset is
  // read as UTC here instead of failing RFC 3339's strict form.
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/i);
  return { validate: ajv.compile(schema), major };
}

function textHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers || {})) {
    out[name] = Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
  }
  return out;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const { validate, major } = loadValidator(options.schemas);
  const kafka = new Kafka({
    clientId: "dipwire-example-node",
    brokers: options.brokers.split(","),
    logLevel: logLevel.WARN,
  });
  // A short session keeps the group join quick (brokers may hold a join for part of it).
  const consumer = kafka.consumer({
    groupId: options.group,
    sessionTimeout: 6000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 250,
  });
  const counts = { read: 0, valid: 0, invalid: 0, skipped: 0 };
  let idleTimer = null;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const armIdle = () => {
    if (options.follow) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(finish, options.idleMs);
  };

  consumer.on(consumer.events.GROUP_JOIN, armIdle);
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      armIdle();
      counts.read += 1;
      const where = `${options.topic}[${partition}]@${message.offset}`;
      const headers = textHeaders(message.headers);
      const name = headers[SCHEMA_HEADER];
      const version = headers[VERSION_HEADER];
      if ((name && name !== SCHEMA_NAME) || (version && Number(version.split(".")[0]) !== major)) {
        counts.skipped += 1;
        process.stderr.write(`skipped ${where}: ${name} ${version} (this reader: v${major})\n`);
        return;
      }
      let event;
      try {
        event = JSON.parse(message.value.toString("utf8"));
      } catch (err) {
        counts.invalid += 1;
        process.stderr.write(`invalid ${where}: not JSON (${err.message})\n`);
        return;
      }
      if (!validate(event)) {
        counts.invalid += 1;
        const why = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
        process.stderr.write(`invalid ${where}: ${why.join("; ")}\n`);
        return;
      }
      counts.valid += 1;
      const line = {
        event_id: event.event_id,
        article_id: event.article_id,
        cameo_code: event.cameo_code,
        source: event.source_actor.code,
        target: event.target_actor ? event.target_actor.code : null,
        headers,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (counts.valid >= options.max) finish();
    },
  });

  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, finish);
  await finished;
  clearTimeout(idleTimer);
  await consumer.disconnect();
  process.stderr.write(
    `read ${counts.read}, valid ${counts.valid}, invalid ${counts.invalid}, ` +
      `skipped ${counts.skipped}\n`,
  );
  return counts.invalid > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`consumer: ${err.message}\n`);
    process.exit(2);
  },
);
