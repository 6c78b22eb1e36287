"""Charts, report HTML, tagged PDF and reviewer pages, built from small notebooks made
here (no pipeline run): vector charts with alt text in the HTML and in the PDF's
structure tree, compaction that draws the same thing, offline reviewer pages.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from matplotlib.collections import PolyCollection

from needs_assessment import display
from needs_assessment.report import (
    ReportContext,
    build_report_html,
    render_reviewer_html,
    write_pdf,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
ALT = "Bar chart: adults in treatment rose from 410 in 2022 to 455 in 2024 & fell <5% in 2023."
# Characters that mean something in URLs, HTML or XML, and a non-ASCII one.
LABEL = "Women – 15% & <5 #1 'q' \"d\""


def _chart() -> plt.Figure:
    """Bars with a hatch, a line with markers (drawn with <use>), a legend and labels."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    years = [2022, 2023, 2024]
    ax.bar(years, [410, 402, 455], color=display.OKABE_ITO[0], label="Adults in treatment")
    ax.bar([2025], [430], color=display.OKABE_ITO[1], hatch="//", label="Projected")
    ax.plot(years, [400, 420, 440], marker="o", color=display.OKABE_ITO[5], label="Need")
    ax.set_title("Adults in treatment by year")
    ax.set_xlabel(LABEL)
    ax.legend()
    return fig


def _svg_of_uri(src: str) -> str:
    assert src.startswith("data:image/svg+xml,")
    return urllib.parse.unquote(src.removeprefix("data:image/svg+xml,"))


def _figure_html(fig: plt.Figure | None = None, alt: str = ALT) -> str:
    return display.figure(fig or _chart(), alt=alt, caption="Figure: adults in treatment.").content


# --- charts -------------------------------------------------------------------------------


def test_figure_is_an_img_of_vector_svg_with_alt_text_and_text_kept_as_text():
    soup = BeautifulSoup(_figure_html(), "html.parser")
    img = soup.find("figure", class_="chart").find("img")
    assert img["alt"] == ALT
    assert soup.find("figcaption").get_text() == "Figure: adults in treatment."
    svg = _svg_of_uri(img["src"])
    root = ET.fromstring(svg)  # well-formed XML after percent-decoding
    assert root.tag == f"{SVG}svg"
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "Adults in treatment by year" in labels
    assert LABEL in labels  # &, <, %, # and quotes survive the data URI and the XML
    assert not root.findall(f".//{SVG}image"), "a small chart should be entirely vector"
    # The URL holds only URL code points and percent escapes (a valid data: URL).
    assert re.fullmatch(r"[A-Za-z0-9!$&'()*+,\-./:;=?@_~%]+", img["src"])


def test_figure_requires_alt_text():
    with pytest.raises(ValueError, match="alt text"):
        display.figure(_chart(), alt="  ", caption="x")


def test_the_same_chart_gives_the_same_bytes():
    # matplotlib salts its clip-path ids with a random value unless told otherwise.
    assert _figure_html() == _figure_html()


def test_svg_has_no_prolog_doctype_or_metadata():
    svg = display.svg_markup(_chart())
    assert svg.startswith("<svg")
    assert "<!DOCTYPE" not in svg and "<?xml" not in svg and "metadata" not in svg


def _drawn(root: ET.Element) -> list[tuple[str, tuple, tuple, str]]:
    """What an SVG draws, in order: tag, presentation (attributes and ``style``
    declarations as one, as a renderer reads them), the clipping paths that apply to it
    (its own and its groups'), text."""
    parents = {child: parent for parent in root.iter() for child in parent}
    out = []
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        if tag in {"g", "svg", "defs", "metadata", "title"} or "}" in tag:
            continue
        if tag in {"RDF", "Work", "type", "format", "creator", "Agent"}:
            continue
        presentation = {
            k: "".join(v.split())
            for k, v in element.attrib.items()
            if k not in {"d", "x", "y", "width", "height", "transform", "style", "id", "clip-path"}
        }
        for declaration in filter(None, element.get("style", "").split(";")):
            name, value = declaration.split(":", 1)
            presentation[name.strip()] = "".join(value.split())
        clips, node = [], element
        while node is not None:
            if node.get("clip-path"):
                clips.append(node.get("clip-path"))
            node = parents.get(node)
        out.append((tag, tuple(sorted(presentation.items())), tuple(clips), (element.text or "").strip()))
    return out


def _numbers(root: ET.Element, attribute: str) -> list[float]:
    values = []
    for element in root.iter():
        if element is root:
            continue
        value = element.get(attribute)
        if value:
            values += [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", value)]
    return values


def test_compaction_draws_the_same_elements_with_coordinates_within_0_005_pt():
    fig = _chart()
    raw = io.StringIO()
    with matplotlib.rc_context(display._SVG_RC):
        fig.savefig(raw, format="svg", bbox_inches="tight")
    plt.close(fig)
    original = ET.fromstring(raw.getvalue())
    compact = ET.fromstring(display.compact_svg(raw.getvalue()))

    # Same drawing elements, in the same order, with the same styles and labels.
    assert _drawn(compact) == _drawn(original)
    # Fewer elements: matplotlib's id-only groups are gone.
    assert sum(1 for _ in compact.iter()) < 0.8 * sum(1 for _ in original.iter())
    # Coordinates differ by rounding only.
    for attribute in ("d", "x", "y", "width", "height"):
        before, after = _numbers(original, attribute), _numbers(compact, attribute)
        assert len(before) == len(after), attribute
        assert np.allclose(before, after, atol=0.005 + 1e-9), attribute
    # The root keeps its exact size (it sets the scale of everything).
    for attribute in ("width", "height", "viewBox"):
        assert compact.get(attribute) == original.get(attribute)
    # Identity rotations are dropped; a real rotation (the y label, -90) is kept.
    assert "rotate(-0 " not in display.compact_svg(raw.getvalue())
    # Styles are attributes, which WeasyPrint reads without parsing CSS, except what the
    # SVG's own style sheet sets (*{stroke-linejoin; stroke-linecap}), which a style
    # attribute outranks and a presentation attribute would not.
    styles = [e.get("style") for e in compact.iter() if e.get("style")]
    assert styles and all(set(re.findall(r"([a-z-]+):", st)) <= {"stroke-linejoin", "stroke-linecap"}
                          for st in styles)
    assert len(styles) < sum(1 for e in original.iter() if e.get("style"))
    # Neighbours clipped to the axes share one clipped group.
    clipped = lambda r: sum(1 for e in r.iter() if e.get("clip-path"))  # noqa: E731
    assert clipped(compact) < clipped(original)


def _svg(body: str, sheet: str = "*{stroke-linecap: butt}") -> ET.Element:
    return ET.fromstring(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="10pt">'
        f'<defs><style type="text/css">{sheet}</style>'
        f'<clipPath id="c"><rect x="0" y="0" width="5" height="5"/></clipPath></defs>{body}</svg>'
    )


def test_styles_become_attributes_except_what_the_style_sheet_sets():
    root = _svg('<path d="M0,0L1,1" style="fill:none;stroke:#cccccc;stroke-linecap:round"/>'
                "<text style=\"font-size:8px;font-family:'DejaVu Sans',sans-serif;text-anchor:middle\">a</text>"
                '<path d="M0,0" style="fill:url(#h);font:bold 8px serif"/>'
                '<path d="M0,0" style="fill: red; /* a comment */"/>')
    display.styles_as_attributes(root)
    line, label, shorthand, odd = root.findall(f"{SVG}path")[:1] + root.findall(f"{SVG}text") + root.findall(f"{SVG}path")[1:]
    assert (line.get("fill"), line.get("stroke"), line.get("style")) == ("none", "#cccccc", "stroke-linecap:round")
    assert label.get("style") is None
    assert (label.get("font-size"), label.get("font-family"), label.get("text-anchor")) == (
        "8px", "'DejaVu Sans',sans-serif", "middle")
    # ``font`` is a shorthand with no attribute of its own; it stays a style.
    assert (shorthand.get("fill"), shorthand.get("style")) == ("url(#h)", "font:bold 8px serif")
    # A style that is not a plain list of declarations is left as it was.
    assert odd.get("style") == "fill: red; /* a comment */" and odd.get("fill") is None


def test_neighbours_with_the_same_clip_share_one_clipped_group_in_their_order():
    root = _svg('<path id="keep" d="M0,0" clip-path="url(#c)"/>'
                '<path d="M1,1" clip-path="url(#c)"/><path d="M2,2" clip-path="url(#c)"/>'
                '<text clip-path="url(#c)">a</text>'
                '<text transform="rotate(-90)" clip-path="url(#c)">b</text>'
                '<path d="M3,3" clip-path="url(#c)"/>'
                '<path d="M4,4"/>'
                '<g><path d="M5,5" clip-path="url(#c)"/><path d="M6,6" clip-path="url(#c)"/></g>')
    before = _drawn(root)
    display.group_shared_clips(root)
    assert _drawn(root) == before  # same elements, same order, same clips
    top = [(e.tag.removeprefix(SVG), e.get("clip-path"), len(e)) for e in root][1:]
    assert top == [
        ("path", "url(#c)", 0),  # has an id: something may use it elsewhere, unclipped
        ("g", "url(#c)", 3),  # M1, M2 and the label
        ("text", "url(#c)", 0),  # rotated: its clip is in its own turned coordinates
        ("path", "url(#c)", 0),  # a run of one stays as it is
        ("path", None, 0),
        ("g", None, 1),
    ]
    assert [(e.tag.removeprefix(SVG), e.get("clip-path")) for e in root[-1]] == [("g", "url(#c)")]
    # Templates (<defs>, <clipPath>) are not regrouped.
    assert [e.tag.removeprefix(SVG) for e in root[0]] == ["style", "clipPath"]


def test_rotated_labels_keep_their_rotation():
    fig, ax = plt.subplots()
    ax.set_ylabel("Per 100,000 adults")
    root = ET.fromstring(display.svg_markup(fig))
    plt.close(fig)
    label = next(t for t in root.iter(f"{SVG}text") if t.text == "Per 100,000 adults")
    assert label.get("transform", "").startswith("rotate(-90")


def _dense_map(n_polygons: int, vertices: int) -> plt.Figure:
    rng = np.random.default_rng(1)
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    polygons = [
        np.column_stack([x + 0.4 * np.cos(angles), y + 0.4 * np.sin(angles)])
        for x, y in rng.uniform(0, 30, size=(n_polygons, 2))
    ]
    fig, ax = plt.subplots()
    ax.add_collection(PolyCollection(polygons, array=rng.uniform(size=n_polygons),
                                     cmap=display.SEQUENTIAL_CMAP))
    ax.autoscale_view()
    ax.set_title("Small areas")
    return fig


def test_dense_layers_are_drawn_as_pixels_and_the_rest_stays_vector():
    fig = _dense_map(300, 100)  # 30,000 points
    assert display.rasterise_dense_layers(fig, max_points=20_000) == 1
    root = ET.fromstring(display.svg_markup(fig))
    plt.close(fig)
    images = root.findall(f".//{SVG}image")
    assert len(images) == 1
    assert images[0].get("{http://www.w3.org/1999/xlink}href").startswith("data:image/png")
    assert "Small areas" in [t.text for t in root.iter(f"{SVG}text")]
    assert len(root.findall(f".//{SVG}path")) < 300  # polygons not written one by one


def test_sparse_layers_stay_vector():
    fig = _dense_map(30, 50)  # 1,500 points
    assert display.rasterise_dense_layers(fig) == 0
    root = ET.fromstring(display.svg_markup(fig))
    plt.close(fig)
    assert not root.findall(f".//{SVG}image")


# --- report HTML and PDF ------------------------------------------------------------------


def _notebook(path: Path, *, wide_table: bool = False) -> Path:
    """An 'executed' chapter: a title, narrative, a chart and a table as display outputs."""
    table = display.table(
        _wide_frame() if wide_table else _small_frame(),
        caption="Adults in treatment by characteristic",
        row_header="Characteristic",
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Access to services\n\nWho is in treatment."),
        nbformat.v4.new_code_cell(
            "display(figure(fig, alt=alt, caption=caption))",
            execution_count=1,
            outputs=[nbformat.v4.new_output(
                "display_data", data={"text/html": _figure_html(), "text/plain": "<chart>"}
            )],
        ),
        nbformat.v4.new_code_cell(
            "table(frame)",
            execution_count=2,
            outputs=[nbformat.v4.new_output(
                "execute_result", data={"text/html": table.content, "text/plain": "<table>"},
                execution_count=2,
            )],
        ),
    ]
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nbformat.write(nb, path)
    return path


def _small_frame():
    import pandas as pd

    return pd.DataFrame({"Characteristic": ["Men", "Women"], "People": [3012, 1480]})


def _wide_frame():
    """Nine columns with long header words, like the protected-characteristics table."""
    import pandas as pd

    headers = [
        "Characteristic", "Group", "In treatment (number)", "Share of people in treatment (%)",
        "Share of residents (%)", "Expected from the population",
        "Ratio in treatment to expected", "Ratio lower", "Ratio upper",
    ]
    rows = [
        ["Marriage and civil partnership", "Separated, but still legally married", 121, 3.3,
         2.6, 93, 1.30, 1.08, 1.55],
        ["Sexual orientation", "Straight or heterosexual", 3352, 96.7, 96.6, 3347, 1.00, 0.97,
         1.04],
    ]
    return pd.DataFrame(rows, columns=headers)


CTX = ReportContext(
    title="Joint needs assessment: drugs and alcohol",
    organisation="Anyshire Combating Drugs Partnership",
    area_name="Anyshire",
    period_label="2022 to 2024",
    run_id="test",
    run_date=dt.date(2025, 1, 31),
    published=dt.date(2025, 2, 1),
    data_status="Synthetic figures.",
)


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    nb = _notebook(folder / "01_access.ipynb")
    text = build_report_html(CTX, [nb], run_dir=folder)
    pdf = folder / "report.pdf"
    write_pdf(text, pdf, base_url=folder)
    return text, pdf


def test_report_html_embeds_the_chart_as_svg_with_alt_and_no_scripts(small_report):
    text, _ = small_report
    soup = BeautifulSoup(text, "html.parser")
    assert soup.html["lang"] == "en-GB"
    assert not soup.find_all("script")
    (img,) = soup.find_all("img")
    assert img["alt"] == ALT
    assert ET.fromstring(_svg_of_uri(img["src"])).tag == f"{SVG}svg"
    assert soup.find("table").find("th", attrs={"scope": "col"}) is not None


def _structure(reader) -> list:
    """(tag, /Alt) of every element of the PDF's structure tree."""
    found = []

    def walk(node):
        node = node.get_object()
        if not hasattr(node, "get"):
            return
        if node.get("/S") is not None:
            found.append((str(node["/S"]), node.get("/Alt")))
        kids = node.get("/K")
        if kids is None:
            return
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object"):
                walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def test_pdf_is_tagged_pdf_ua_with_the_chart_as_a_figure_with_alt_text(small_report):
    from pypdf import PdfReader

    _, pdf = small_report
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert reader.metadata.title == "Joint needs assessment: drugs and alcohol: Anyshire"
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfuaid:part(="1"|>1<)', xmp), "not declared PDF/UA-1"
    figures = [alt for tag, alt in _structure(reader) if tag == "/Figure"]
    assert figures == [ALT]
    tags = {tag for tag, _ in _structure(reader)}
    assert {"/Table", "/TH", "/TD", "/Caption"} <= tags


def test_pdf_draws_the_chart_as_vectors_with_its_labels_as_text(small_report):
    from pypdf import PdfReader

    _, pdf = small_report
    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert "Adults in treatment by year" in text  # a chart title, searchable

    def images(resources) -> int:
        count = 0
        for xobject in (resources or {}).get("/XObject", {}).values():
            xobject = xobject.get_object()
            if xobject["/Subtype"] == "/Image":
                count += 1
            else:
                count += images(xobject.get("/Resources"))
        return count

    assert sum(images(page.get("/Resources")) for page in reader.pages) == 0


def test_a_nine_column_table_fits_the_page(tmp_path):
    from pypdf import PdfReader

    nb = _notebook(tmp_path / "01_people.ipynb", wide_table=True)
    pdf = tmp_path / "report.pdf"
    write_pdf(build_report_html(CTX, [nb], run_dir=tmp_path), pdf, base_url=tmp_path)
    reader = PdfReader(pdf)
    page = reader.pages[-1]
    width = float(page.mediabox.width)
    right_margin = 17 / 25.4 * 72  # @page margin in report.css
    starts: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            starts.append((tm[4] * cm[0] + cm[4], text.strip()))

    page.extract_text(visitor_text=visit)
    last_column = [x for x, t in starts if t == "1.6"]  # "Ratio upper" of the first row
    assert last_column, "the last column should be on the page"
    # Before the print CSS fitted it, this table ran some 30 mm past the right margin.
    assert max(x for x, _ in starts) < width - right_margin


# --- reviewer pages -----------------------------------------------------------------------


def test_reviewer_page_is_offline_with_code_outputs_language_and_title(tmp_path):
    nb = _notebook(tmp_path / "05_access.ipynb")
    out = tmp_path / "05_access.html"
    render_reviewer_html(nb, out)
    page = out.read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.html["lang"] == "en-GB"
    assert soup.title.get_text() == "05_access"
    # Nothing is fetched from the network: no scripts at all, no external stylesheets.
    assert not soup.find_all("script")
    assert not [t for t in soup.find_all(["link", "img", "iframe"])
                if re.match(r"(https?:)?//", t.get("href", "") + t.get("src", ""))]
    # Code is shown and highlighted, and outputs keep their alt text.
    assert "display(figure(fig, alt=alt, caption=caption))" in html.unescape(soup.get_text())
    assert soup.select(".jp-InputArea .highlight span")
    assert [img["alt"] for img in soup.find_all("img")] == [ALT]


def test_importing_report_does_not_import_the_renderers():
    # Callers hand render_reviewer_html to worker processes; the import must stay cheap.
    code = (
        "import sys, needs_assessment.report as r; "
        "print(sorted(m for m in ('nbconvert', 'weasyprint', 'bs4', 'nbformat') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_reviewer_page_is_what_nbconvert_would_make_with_the_same_template(tmp_path):
    """The reviewer exporter skips HTMLExporter's BeautifulSoup pass and makes its two
    edits (tabindex on code and output areas, placeholder alt on images) on the text; the
    page must come out the same as nbconvert's own, element for element."""
    import base64

    from nbconvert import HTMLExporter

    from needs_assessment.report import TEMPLATE_DIR

    path = _notebook(tmp_path / "02_prevalence.ipynb")
    nb = nbformat.read(path, as_version=4)
    buffer = io.BytesIO()
    fig, ax = plt.subplots(figsize=(1, 1))
    fig.savefig(buffer, format="png")
    plt.close(fig)
    nb.cells.append(nbformat.v4.new_code_cell(
        "print('checked'); plt.show()",
        execution_count=3,
        outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="checked\n"),
            nbformat.v4.new_output("display_data", data={
                "image/png": base64.b64encode(buffer.getvalue()).decode(), "text/plain": "<Figure>"
            }),
        ],
    ))
    nbformat.write(nb, path)
    out = tmp_path / "02_prevalence.html"
    render_reviewer_html(path, out)
    ours = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    stock_page, _ = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="reviewer"
    ).from_notebook_node(nb, resources={"metadata": {"name": "02_prevalence"}})
    stock = BeautifulSoup(stock_page.replace('<html lang="en">', '<html lang="en-GB">'), "html.parser")
    assert str(ours) == str(stock)
    assert len(ours.select("div.jp-Cell-inputWrapper[tabindex='0']")) == 4  # 1 markdown, 3 code
    assert ours.find("img", alt="No description has been provided for this image")
