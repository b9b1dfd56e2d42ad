"""IPTC NITF and NewsML-G2 documents, parsed by lxml; and which kind an XML file is.

NITF: ``doc-id/@id-string`` is the id, ``hedline/hl1`` (else ``head/title``)
the title, the paragraphs of ``body.content`` the body (the dateline first),
``date.issue/@norm`` the story date, the copyright holder or publication the
source. NewsML-G2: each ``newsItem`` (alone, or in a ``newsMessage``) is an
article: ``@guid`` the id, ``contentMeta/headline`` the title, its
``inlineXML`` (NITF or XHTML) or ``inlineData`` the body, ``contentCreated``
(else ``firstCreated``, ``versionCreated``) the story date, the provider the
source. Names are matched by local name, whatever the namespace version.

The parser resolves no entity, loads no DTD and never uses the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lxml import etree

from pipeline.inputs.articles import Item, Unreadable, check_object, language, stable_id

FEED_ROOTS = frozenset({"rss", "feed", "RDF"})
NEWSML_ROOTS = frozenset({"newsItem", "newsMessage", "packageItem", "conceptItem", "knowledgeItem"})
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse_xml(content: bytes) -> Any:
    """The root element of an XML document, parsed safely.

    Raises:
        lxml.etree.XMLSyntaxError: Not well-formed XML.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    return etree.fromstring(content, parser=parser)


def kind_of(root: Any) -> str | None:
    """``feed``, ``nitf`` or ``newsml`` by the root element, or None."""
    name = etree.QName(root).localname
    if name in FEED_ROOTS:
        return "feed"
    if name == "nitf":
        return "nitf"
    if name in NEWSML_ROOTS:
        return "newsml"
    return None


def nitf_articles(root: Any) -> Iterator[Item]:
    """The one article of a NITF document."""
    yield check_object(nitf_article(root), "file")


def newsml_articles(root: Any) -> Iterator[Item]:
    """Each ``newsItem`` of a NewsML-G2 document as an article."""
    items = [root] if _local(root) == "newsItem" else list(_descendants(root, "newsItem"))
    if not items:
        yield Unreadable("file", f"a NewsML-G2 {_local(root)} holds no newsItem")
    for number, item in enumerate(items, start=1):
        yield check_object(newsml_article(item), f"newsItem {number}")


def nitf_article(nitf: Any) -> dict[str, Any]:
    """The article fields of a ``nitf`` element (``body`` missing when it has no text)."""
    head = _first(nitf, "head")
    body_head = _path(nitf, "body", "body.head")
    title = _text(_path(body_head, "hedline", "hl1")) or _text(_first(head, "title"))
    paragraphs = [_text(p) for p in _descendants(_path(nitf, "body", "body.content"), "p")]
    dateline = _text(_first(body_head, "dateline"))
    if dateline and paragraphs and not paragraphs[0].startswith(dateline):
        paragraphs[0] = f"{dateline} - {paragraphs[0]}"
    body = "\n\n".join(p for p in paragraphs if p)
    docdata = _first(head, "docdata")
    doc_id = _attr(_first(docdata, "doc-id"), "id-string")
    article: dict[str, Any] = {"id": stable_id("nitf", doc_id, title, body), "title": title}
    if body:
        article["body"] = body
    published = _date(_attr(_first(docdata, "date.issue"), "norm")) or _date(
        _attr(_first(head, "pubdata"), "date.publication")
    )
    if published:
        article["published_at"] = published
    source = _attr(_first(docdata, "doc.copyright"), "holder") or _attr(
        _first(head, "pubdata"), "name"
    )
    if source:
        article["source"] = source
    lang = language(nitf.get(XML_LANG))
    if lang:
        article["language"] = lang
    return article


def newsml_article(item: Any) -> dict[str, Any]:
    """The article fields of a ``newsItem`` element (``body`` missing when it has no text)."""
    meta = _first(item, "itemMeta")
    content_meta = _first(item, "contentMeta")
    title = _text(_first(content_meta, "headline"))
    body = _newsml_body(_first(item, "contentSet"))
    article: dict[str, Any] = {"id": stable_id("newsml", item.get("guid"), title, body)}
    article["title"] = title
    if body:
        article["body"] = body
    for node, name in ((content_meta, "contentCreated"), (meta, "firstCreated")):
        published = _date(_text(_first(node, name)))
        if published:
            article["published_at"] = published
            break
    else:
        published = _date(_text(_first(meta, "versionCreated")))
        if published:
            article["published_at"] = published
    provider = _first(meta, "provider")
    source = _attr(provider, "literal") or _attr(provider, "qcode")
    if source:
        article["source"] = source
    lang = language(item.get(XML_LANG))
    if lang:
        article["language"] = lang
    return article


def _newsml_body(content_set: Any) -> str:
    """The text of the first ``inlineXML`` (NITF or XHTML) or ``inlineData`` that has any."""
    for child in _children(content_set):
        if _local(child) == "inlineXML":
            nitf = next(_descendants(child, "nitf"), None)
            if nitf is not None:
                text = nitf_article(nitf).get("body", "")
            else:
                text = "\n\n".join(t for p in _descendants(child, "p") if (t := _text(p))) or _text(
                    child
                )
        elif _local(child) == "inlineData":
            text = (child.text or "").strip()
        else:
            continue
        if text:
            return str(text)
    return ""


def _date(value: str | None) -> str | None:
    """An ISO 8601 date-time (basic or extended) as extended ISO text, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


def _local(element: Any) -> str:
    return str(etree.QName(element).localname) if isinstance(element.tag, str) else ""


def _children(element: Any) -> Iterator[Any]:
    if element is not None:
        yield from (child for child in element if isinstance(child.tag, str))


def _first(element: Any, name: str) -> Any:
    return next((c for c in _children(element) if _local(c) == name), None)


def _path(element: Any, *names: str) -> Any:
    for name in names:
        element = _first(element, name)
    return element


def _descendants(element: Any, name: str) -> Iterator[Any]:
    if element is not None:
        yield from (e for e in element.iter() if isinstance(e.tag, str) and _local(e) == name)


def _text(element: Any) -> str:
    """The element's text, whitespace tidied; empty for None."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _attr(element: Any, name: str) -> str | None:
    value = None if element is None else element.get(name)
    return value.strip() if value and value.strip() else None
