"""Render the published report (HTML and tagged PDF) and the reviewers' notebook pages.

The report is one HTML document made from the executed notebooks with nbconvert and a
template of our own (``templates/report``) that keeps narrative and displayed outputs
and drops code, prompts, logs and scripts. Around the chapters come the title page, a
contents list built from the headings, the sections made from recorded results
(executive summary, recommendations, methods, data quality, glossary) and a footer.

The PDF is made from the same HTML by WeasyPrint as PDF/UA-1 (tagged, with document
language and title), so the two never disagree. WeasyPrint runs no JavaScript, so the
report carries none. Charts arrive from ``display.figure`` as vector SVG in ``<img>``
elements, which WeasyPrint draws as vectors and tags as ``/Figure`` with the alt text.

The reviewers' pages use a template of our own too (``templates/reviewer``): JupyterLab's
look without the scripts the 'lab' template fetches from CDNs.

This module imports nbconvert, BeautifulSoup and WeasyPrint only inside the functions
that need them, so importing it (for example to hand ``render_reviewer_html`` to worker
processes) is cheap.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

__all__ = ["ReportContext", "build_report", "render_reviewer_html", "write_pdf"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
CSS_PATH = TEMPLATE_DIR / "report" / "report.css"


@dataclass(frozen=True)
class ReportContext:
    """What the report shell needs to know about the run."""

    title: str
    organisation: str
    area_name: str
    period_label: str
    run_id: str
    run_date: dt.date
    published: dt.date
    data_status: str  # plain statement of which figures are published and which illustrative
    contact: str | None = None


# A section builder returns (heading, html_body) or None to leave the section out.
SectionBuilder = Callable[[Path], tuple[str, str] | None]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


# Building an exporter loads and compiles its Jinja templates; one per thread and
# template is reused for every notebook (nbconvert's own command line converts many
# notebooks with one).
_exporters = threading.local()

# The two edits nbconvert's BeautifulSoup pass makes (see _soupless_exporter), on text.
_FOCUSABLE_AREA = re.compile(r'<div class="(?:jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)"')
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)")
_NO_ALT = 'alt="No description has been provided for this image"'


def _soupless_exporter(name: str, **options) -> HTMLExporter:
    """An ``HTMLExporter`` for template ``name`` without nbconvert's BeautifulSoup pass,
    which re-parses every page to make two edits: ``tabindex="0"`` on code and output
    areas (so keyboard users can scroll them) and a placeholder alt on images that lack
    one. That pass was 70% of the time of a reviewer page. The templates' own markup is
    regular, so the same two edits are made on the text."""
    key = f"soupless_{name}"
    cached = getattr(_exporters, key, None)
    if cached is not None:
        return cached
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class SouplessExporter(HTMLExporter):
        """``HTMLExporter`` (nbconvert 7.17) without its BeautifulSoup pass."""

        def from_notebook_node(self, nb, resources=None, **kw):
            # As HTMLExporter.from_notebook_node up to the render, then the text edits.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            page = _FOCUSABLE_AREA.sub(r'\g<0> tabindex="0"', page)
            page = _IMG_WITHOUT_ALT.sub(f"<img {_NO_ALT}", page)
            return page, resources

    cached = SouplessExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)], template_name=name, **options
    )
    setattr(_exporters, key, cached)
    return cached


def _reviewer_exporter() -> HTMLExporter:
    return _soupless_exporter("reviewer")


def _chapter_exporter() -> HTMLExporter:
    return _soupless_exporter(
        "report",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )


def render_chapter(notebook_path: Path, number: int) -> str:
    """HTML of one executed notebook's narrative and outputs, headings shifted one level
    down (the notebook's ``#`` title becomes the chapter's ``<h2>``) and numbered."""
    import nbformat
    from bs4 import BeautifulSoup

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = _chapter_exporter().from_notebook_node(
        nb, resources={"metadata": {"name": notebook_path.stem}}
    )
    soup = BeautifulSoup(body, "html.parser")
    # Shift every heading one level down, deepest first so h1->h2 does not cascade.
    for level in range(5, 0, -1):
        for tag in soup.find_all(f"h{level}"):
            tag.name = f"h{level + 1}"
    chapter_heading = soup.find("h2")
    if chapter_heading is not None:
        text = chapter_heading.get_text(" ", strip=True)
        chapter_heading.string = f"{number}. {text}"
        chapter_heading["class"] = ["chapter-title"]
    return str(soup)


def title_page_html(ctx: ReportContext) -> str:
    e = html.escape
    contact = (
        f"<dt>Contact</dt><dd>{e(ctx.contact)}</dd>" if ctx.contact else ""
    )
    return (
        '<header class="title-page">'
        f'<p class="organisation">{e(ctx.organisation)}</p>'
        f"<h1>{e(ctx.title)}</h1>"
        f'<p class="area">{e(ctx.area_name)}</p>'
        "<dl>"
        f"<dt>Period covered</dt><dd>{e(ctx.period_label)}</dd>"
        f"<dt>Published</dt><dd>{e(ctx.published.strftime('%-d %B %Y'))}</dd>"
        f"<dt>Run date</dt><dd>{e(ctx.run_date.strftime('%-d %B %Y'))}</dd>"
        f"<dt>Run</dt><dd>{e(ctx.run_id)}</dd>"
        f"{contact}"
        "</dl>"
        f'<p class="data-status"><strong>About the figures.</strong> {e(ctx.data_status)}</p>'
        "</header>"
    )


def _section_html(heading: str, body: str, section_id: str) -> str:
    return (
        f'<section class="report-section" id="{html.escape(section_id)}">'
        f"<h2>{html.escape(heading)}</h2>{body}</section>"
    )


def _add_contents(soup: BeautifulSoup) -> None:
    """Give every h2/h3 an id and insert a contents list after the title page."""
    used: set[str] = set()
    entries: list[tuple[int, str, str]] = []
    for tag in soup.find_all(["h2", "h3"]):
        if tag.find_parent(class_="title-page"):
            continue
        ident = tag.get("id") or _slug(tag.get_text(" ", strip=True))
        base, n = ident, 2
        while ident in used:
            ident = f"{base}-{n}"
            n += 1
        used.add(ident)
        tag["id"] = ident
        entries.append((int(tag.name[1]), ident, tag.get_text(" ", strip=True)))

    nav = soup.new_tag("nav", attrs={"class": "contents", "aria-labelledby": "contents-heading"})
    heading = soup.new_tag("h2", id="contents-heading")
    heading.string = "Contents"
    nav.append(heading)
    top = soup.new_tag("ol")
    nav.append(top)
    current_sub = None
    last_top = None
    for level, ident, text in entries:
        li = soup.new_tag("li")
        link = soup.new_tag("a", href=f"#{ident}")
        link.string = text
        li.append(link)
        if level == 2 or last_top is None:
            top.append(li)
            last_top, current_sub = li, None
        else:
            if current_sub is None:
                current_sub = soup.new_tag("ol")
                last_top.append(current_sub)
            current_sub.append(li)
    title = soup.find(class_="title-page")
    if title is not None:
        title.insert_after(nav)
    else:
        soup.body.insert(0, nav)


def build_report_html(
    ctx: ReportContext,
    notebooks: Sequence[Path],
    *,
    run_dir: Path,
    front_sections: Sequence[SectionBuilder] = (),
    back_sections: Sequence[SectionBuilder] = (),
    chapters: Mapping[Path, str] | None = None,
) -> str:
    """The complete report as one self-contained HTML document (no scripts, no links out
    for assets: CSS inline and figures embedded as data URIs). ``chapters`` may hold some
    notebooks' :func:`render_chapter` HTML already made (the runner makes each as its
    notebook finishes); the others are rendered here."""
    from bs4 import BeautifulSoup

    parts = [title_page_html(ctx)]
    for builder in front_sections:
        made = builder(run_dir)
        if made:
            parts.append(_section_html(made[0], made[1], _slug(made[0])))
    chapters = chapters or {}
    for number, path in enumerate(notebooks, start=1):
        made = chapters.get(Path(path))
        parts.append(made if made is not None else render_chapter(path, number))
    for builder in back_sections:
        made = builder(run_dir)
        if made:
            parts.append(_section_html(made[0], made[1], _slug(made[0])))
    parts.append(
        '<footer class="report-footer"><p>'
        f"Produced by the joint needs assessment workbook, run {html.escape(ctx.run_id)}. "
        "The executed notebooks, tables and a manifest of inputs and software versions are "
        "published beside this report.</p></footer>"
    )
    css = CSS_PATH.read_text(encoding="utf-8")
    description = f"{ctx.title} for {ctx.area_name}, {ctx.period_label}"
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{html.escape(ctx.title)}: {html.escape(ctx.area_name)}</title>"
        f'<meta name="description" content="{html.escape(description)}"/>'
        f'<meta name="author" content="{html.escape(ctx.organisation)}"/>'
        f'<meta name="dcterms.created" content="{ctx.run_date.isoformat()}"/>'
        f"<style>{css}</style></head>"
        '<body><main id="main">' + "".join(parts) + "</main></body></html>"
    )
    soup = BeautifulSoup(document, "html.parser")
    _add_contents(soup)
    for script in soup.find_all("script"):
        script.decompose()
    return str(soup)


def write_pdf(html_text: str, path: Path, *, base_url: Path) -> None:
    """Tagged PDF (PDF/UA-1) of the report HTML via WeasyPrint.

    Where the time goes (default area, 80-odd pages): laying out text and tables is most
    of it; drawing the vector charts and subsetting the fonts come next. Chart labels are
    laid out as whole words, not letter by letter (``svg_text_runs``). Fonts are
    subset with fontTools when the system lacks HarfBuzz-Subset (Debian package
    ``libharfbuzz-subset0``), which costs about half a second more and makes no
    difference to the file.
    """
    import gc
    import logging

    from weasyprint import HTML

    from .svg_text_runs import whole_svg_text_runs

    # WeasyPrint logs every unsupported CSS property at WARNING; the report's CSS is
    # screen-and-print, so those messages are noise in the run log.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    # Laying out the report allocates some 600,000 objects, so the cyclic garbage
    # collector would run hundreds of times, each pass also walking everything else the
    # process holds. Paused, the PDF takes about 13% less time for 25 MB more memory.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with whole_svg_text_runs():
            HTML(string=html_text, base_url=str(base_url)).write_pdf(
                str(path), pdf_variant="pdf/ua-1", uncompressed_pdf=False
            )
    finally:
        if was_enabled:
            gc.enable()


def render_reviewer_html(notebook_path: Path, output_path: Path) -> None:
    """The executed notebook as HTML with code and outputs, for reviewers.

    A plain function of two paths with no shared state beyond a per-thread exporter, so
    a caller may run one call per notebook in parallel (threads or processes). The page
    loads nothing from the network (``templates/reviewer``) and declares British English.
    """
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    # The notebook's name becomes the page <title> (nbconvert writes "Notebook" without it).
    body, _ = _reviewer_exporter().from_notebook_node(
        nb, resources={"metadata": {"name": Path(notebook_path).stem}}
    )
    # nbconvert accepts only two-letter language codes; the report says en-GB.
    body = body.replace('<html lang="en">', '<html lang="en-GB">', 1)
    Path(output_path).write_text(body, encoding="utf-8")


def build_report(
    ctx: ReportContext,
    notebooks: Sequence[Path],
    *,
    run_dir: Path,
    front_sections: Sequence[SectionBuilder] = (),
    back_sections: Sequence[SectionBuilder] = (),
) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` into ``run_dir``; return their paths."""
    text = build_report_html(
        ctx, notebooks, run_dir=run_dir, front_sections=front_sections, back_sections=back_sections
    )
    html_path = run_dir / "report.html"
    html_path.write_text(text, encoding="utf-8")
    pdf_path = run_dir / "report.pdf"
    write_pdf(text, pdf_path, base_url=run_dir)
    return html_path, pdf_path
