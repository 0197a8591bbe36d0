"""The playground's page in a real browser: Debian's chromium driven by Playwright, talking to
the real server (uvicorn on 127.0.0.1, a free port, in a thread).

The controls are found as a person (or a screen reader) finds them: by role and accessible name.
The screenshots the guide shows (docs/images/playground*.png) are taken here; they are written
to docs/images when MICROFLOW_SCREENSHOTS=1 is set (or when one is missing), so that a plain
test run leaves the working tree clean.
"""

import csv
import io
import os
import pathlib
import re
import shutil
import socket
import threading
import time
from urllib.parse import parse_qs

import pytest

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; "
                                                ".ci/run does it)"),
]

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DATASETS = ["Circle", "Exclusive or", "Gaussian", "Spiral", "Plane", "Multi Gaussian"]


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    from microflow.apps.playground import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the playground's server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh tab; any JavaScript error or console error on it fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 980}, accept_downloads=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def open_page(page, url, query=""):
    page.goto(url + query)
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    wait_for(lambda: frames_drawn(page) > 0, "the first frame to be drawn")


def frames_drawn(page):
    return page.evaluate("window.playground.framesDrawn")


def wait_for(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def figure(page, name):
    """The number a figure (Epoch, Training loss, Test loss, Accuracy) shows."""
    text = page.get_by_label(name, exact=True).text_content().strip()
    return float(text) if re.fullmatch(r"[-+]?\d+(\.\d+)?", text) else None


def colours(page, selector):
    """How a canvas is painted: the share of its pixels that are bluish, orangish, and the number
    of distinct colours (to 5 bits a channel)."""
    return page.evaluate("""(selector) => {
        const canvas = document.querySelector(selector);
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const seen = new Set();
        let blue = 0, orange = 0;
        for (let i = 0; i < data.length; i += 4) {
            const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
            seen.add((r >> 3) << 10 | (g >> 3) << 5 | (b >> 3));
            if (b > r + 30) blue += 1;
            if (r > b + 30) orange += 1;
        }
        const n = data.length / 4;
        return {blue: blue / n, orange: orange / n, distinct: seen.size};
    }""", selector)


def screenshot(page, name, tmp_path, **options):
    """Save a screenshot for the guide (see the module's docstring); returns its path."""
    target = IMAGES / name
    if os.environ.get("MICROFLOW_SCREENSHOTS") != "1" and target.exists():
        target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), **options)
    return target


def address(page):
    """The page's query string, parsed (read from the page: Playwright's page.url is updated
    only while it handles events)."""
    return parse_qs(page.evaluate("window.location.search").lstrip("?"))


def layer_sizes(page):
    return page.evaluate("window.playgroundApp.state.network.layers")


def test_play_on_circle_trains_until_the_test_loss_is_below_a_tenth(page, server_url, tmp_path):
    open_page(page, server_url)
    dataset = page.get_by_label("Dataset", exact=True)
    assert dataset.locator("option").all_text_contents() == DATASETS
    expect(dataset).to_have_value("circle")
    assert figure(page, "Epoch") == 0

    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    wait_for(lambda: figure(page, "Epoch") > 0, "the epoch to advance", timeout=10)
    wait_for(lambda: (figure(page, "Test loss") or 1) < 0.1, "the test loss to fall below 0.1", timeout=40)
    assert figure(page, "Training loss") < 0.2
    assert figure(page, "Accuracy") > 0.9

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.wait_for_timeout(400)
    epoch = figure(page, "Epoch")
    page.wait_for_timeout(600)
    assert figure(page, "Epoch") == epoch, "the epoch still advances after Pause"

    # The decision map is painted: both colours, a smooth boundary, points on top.
    output = colours(page, "canvas[aria-label='Output']")
    assert output["blue"] > 0.1 and output["orange"] > 0.1 and output["distinct"] > 20, output
    expect(page.get_by_role("img", name="Output")).to_be_visible()
    # Every neuron's thumbnail is painted too.
    for name in ["Layer 1 neuron 1", "Layer 2 neuron 2", "Prediction neuron"]:
        thumbnail = colours(page, f"canvas[aria-label='{name}']")
        assert thumbnail["distinct"] > 3, (name, thumbnail)
    screenshot(page, "playground.png", tmp_path, full_page=True)


def test_step_trains_one_epoch_and_reset_starts_again(page, server_url):
    open_page(page, server_url)
    page.get_by_role("button", name="Step").click()
    wait_for(lambda: figure(page, "Epoch") == 1, "epoch 1 after Step")
    page.get_by_role("button", name="Step").click()
    wait_for(lambda: figure(page, "Epoch") == 2, "epoch 2 after a second Step")
    page.get_by_role("button", name="Reset").click()
    wait_for(lambda: figure(page, "Epoch") == 0, "epoch 0 after Reset")
    expect(page.get_by_role("button", name="Play")).to_be_visible()


def test_changing_the_data_and_the_network(page, server_url, tmp_path):
    open_page(page, server_url)
    page.get_by_label("Dataset", exact=True).select_option(label="Exclusive or")
    wait_for(lambda: page.evaluate("window.playgroundApp.state.config.dataset") == "xor", "the xor data")
    page.get_by_role("button", name="Add layer").click()
    wait_for(lambda: layer_sizes(page) == [2, 4, 2, 2, 1], "a third hidden layer of 2 neurons")
    expect(page.get_by_role("heading", name="3 hidden layers")).to_be_visible()
    page.get_by_role("button", name="Add neuron to layer 1").click()
    wait_for(lambda: layer_sizes(page) == [2, 5, 2, 2, 1], "a fifth neuron in layer 1")
    page.get_by_role("button", name="Remove neuron from layer 2").click()
    wait_for(lambda: layer_sizes(page) == [2, 5, 1, 2, 1], "one neuron in layer 2")
    page.get_by_role("button", name="Feature x1·x2").click()
    wait_for(lambda: layer_sizes(page) == [3, 5, 1, 2, 1], "the feature x1·x2 switched on")
    expect(page.get_by_role("button", name="Feature x1·x2")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Activation", exact=True).select_option(label="ReLU")
    wait_for(lambda: page.evaluate("window.playgroundApp.state.config.activations") == ["relu"] * 3,
             "ReLU in every hidden layer")
    page.get_by_label("Layer 2 nonlinearity").select_option(label="Sigmoid")
    wait_for(lambda: page.evaluate("window.playgroundApp.state.config.activations") == ["relu", "sigmoid", "relu"],
             "a sigmoid second layer")
    expect(page.get_by_label("Activation", exact=True)).to_have_value("mixed")    # "per layer"

    drawn = frames_drawn(page)
    page.get_by_role("button", name="Step").click()
    wait_for(lambda: frames_drawn(page) > drawn and figure(page, "Epoch") == 1, "the frame of epoch 1")
    output = colours(page, "canvas[aria-label='Output']")
    assert output["distinct"] > 10, output
    for name in ["Layer 1 neuron 5", "Layer 3 neuron 2"]:
        assert colours(page, f"canvas[aria-label='{name}']")["distinct"] > 2, name
    # The links between the columns' neurons: one per weight, drawn.
    assert page.evaluate("window.playgroundApp.network.links.length") == 3 * 5 + 5 * 1 + 1 * 2 + 2 * 1
    links = colours(page, "#link-canvas")
    assert links["blue"] + links["orange"] > 0.01, links

    page.get_by_label("Dataset", exact=True).select_option(label="Spiral")
    page.get_by_label("Classes", exact=True).select_option("3")
    wait_for(lambda: layer_sizes(page)[-1] == 3, "three output neurons for three classes")
    page.get_by_role("button", name="Play").click()
    wait_for(lambda: figure(page, "Epoch") > 20, "20 epochs on the spiral")
    page.get_by_role("button", name="Pause").click()
    table = page.get_by_role("table")
    expect(table).to_be_visible()
    assert table.get_by_role("row").count() == 4                 # the header and 3 classes
    assert figure(page, "Accuracy") is not None
    assert colours(page, "canvas[aria-label='Output']")["distinct"] > 10


def test_four_gaussians_softmax_confusion_matrix_and_accuracy(page, server_url, tmp_path):
    open_page(page, server_url, "?dataset=gauss&classes=4&noise=20&hidden=6,4&optimizer=adam&showTestData=true")
    wait_for(lambda: layer_sizes(page) == [2, 6, 4, 4], "four output neurons")
    expect(page.get_by_label("Classes", exact=True)).to_have_value("4")
    page.get_by_role("button", name="Play").click()
    wait_for(lambda: (figure(page, "Accuracy") or 0) > 0.85, "an accuracy above 0.85", timeout=40)
    page.get_by_role("button", name="Pause").click()
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 5
    counts = [[int(cell) for cell in rows.nth(i).get_by_role("cell").all_text_contents()] for i in range(1, 5)]
    total = sum(map(sum, counts))
    assert sum(counts[k][k] for k in range(4)) / total == pytest.approx(figure(page, "Accuracy"), abs=0.01)
    output = page.evaluate("""() => {
        const canvas = document.querySelector("canvas[aria-label='Output']");
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const hues = new Set();
        for (let i = 0; i < data.length; i += 4 * 97) hues.add(`${data[i] >> 5},${data[i + 1] >> 5},${data[i + 2] >> 5}`);
        return hues.size;
    }""")
    assert output > 8, output
    screenshot(page, "playground_classes.png", tmp_path, full_page=True)


def test_the_address_holds_the_state_and_clamps_what_is_out_of_range(page, server_url, tmp_path):
    query = ("?dataset=xor&noise=10&hidden=3&activations=relu&learningRate=0.1&features=x1,x2,x1x2"
             "&optimizer=adam&showTestData=true&discretize=true")
    open_page(page, server_url, query)
    expect(page.get_by_label("Dataset", exact=True)).to_have_value("xor")
    expect(page.get_by_label("Noise", exact=True)).to_have_value("10")
    expect(page.get_by_label("Learning rate", exact=True)).to_have_value("0.1")
    expect(page.get_by_label("Activation", exact=True)).to_have_value("relu")
    expect(page.get_by_label("Optimizer", exact=True)).to_have_value("adam")
    expect(page.get_by_label("Show test data")).to_be_checked()
    expect(page.get_by_label("Discretize output")).to_be_checked()
    wait_for(lambda: layer_sizes(page) == [3, 3, 1], "the network of the address")
    # The address is rewritten from the server's config: it keeps what it was given.
    params = address(page)
    assert params["dataset"] == ["xor"] and params["hidden"] == ["3"] and params["features"] == ["x1,x2,x1x2"]
    assert params["showTestData"] == ["true"]

    # A change on the page goes into the address; loading that address gives the same page.
    page.get_by_label("Batch size", exact=True).evaluate(
        "slider => { slider.value = '20'; slider.dispatchEvent(new Event('change')); }")
    wait_for(lambda: address(page).get("batchSize") == ["20"], "batchSize=20 in the address")
    shared = page.evaluate("window.location.href")
    page.goto("about:blank")
    open_page(page, shared, "")
    expect(page.get_by_label("Batch size", exact=True)).to_have_value("20")
    expect(page.get_by_label("Ratio of training to test data", exact=True)).to_have_value("50")

    # Out of range: clamped by the server, and said so; the page is whole.
    open_page(page, server_url, "?learningRate=100&noise=80&hidden=4,abc")
    notices = page.get_by_role("status")
    expect(notices).to_contain_text("learningRate")
    expect(notices).to_contain_text("noise")
    expect(notices).to_contain_text("hidden")
    expect(page.get_by_label("Learning rate", exact=True)).to_have_value("10")
    expect(page.get_by_label("Noise", exact=True)).to_have_value("50")
    expect(page.get_by_role("img", name="Output")).to_be_visible()
    assert colours(page, "canvas[aria-label='Output']")["distinct"] > 5
    screenshot(page, "playground_notice.png", tmp_path, clip={"x": 0, "y": 0, "width": 1400, "height": 330})


def test_learning_rate_10_diverges_and_the_page_says_so(page, server_url, tmp_path):
    # Regression on the plane with squared error: a learning rate of 10 overflows at once.
    # (A classifier's cross-entropy with tanh or ReLU layers stays finite at that rate.)
    open_page(page, server_url, "?dataset=plane")
    expect(page.get_by_label("Problem type", exact=True)).to_have_value("regression")
    expect(page.get_by_role("status")).to_contain_text("regression")    # the switch is said
    page.get_by_label("Learning rate", exact=True).select_option("10")
    wait_for(lambda: page.evaluate("window.playgroundApp.state.config.learningRate") == 10, "learning rate 10")
    before = colours(page, "canvas[aria-label='Output']")
    page.get_by_role("button", name="Play").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("diverged", timeout=30000)
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    # No NaN was painted: the map still shows the last finite picture (or the first one).
    after = colours(page, "canvas[aria-label='Output']")
    assert after["distinct"] > 5, (before, after)
    assert page.evaluate("[...document.querySelectorAll('output')].every(o => !/NaN/.test(o.textContent))")
    screenshot(page, "playground_diverged.png", tmp_path, clip={"x": 0, "y": 0, "width": 1400, "height": 760})


def test_hover_a_neuron_and_edit_a_weight(page, server_url, tmp_path):
    open_page(page, server_url)
    page.get_by_role("img", name="Layer 1 neuron 1").hover()
    card = page.locator("#hover-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("h1.1 = tanh(")
    expect(card).to_contain_text("x1")
    assert colours(page, "#hover-map")["distinct"] > 3
    screenshot(page, "playground_hover.png", tmp_path, clip={"x": 230, "y": 150, "width": 760, "height": 480})

    # The first link, x1 -> h1.1: hover shows its weight, a click edits it (with the mouse, at
    # the middle of the link's curve).
    page.mouse.move(5, 5)
    middle = page.evaluate("""() => {
        const [x0, y0, mid, x1, y1] = window.playgroundApp.network.links[0].geometry;
        const box = document.getElementById("link-canvas").getBoundingClientRect();
        return {x: box.left + (x0 + x1) / 2, y: box.top + (y0 + y1) / 2};
    }""")
    page.mouse.move(middle["x"], middle["y"])
    expect(page.locator("#link-tip")).to_contain_text("weight x1 → h1.1")
    page.mouse.click(middle["x"], middle["y"])
    editor = page.get_by_label("Weight x1 → h1.1")
    expect(editor).to_be_focused()
    editor.fill("-2.5")
    editor.press("Enter")
    drawn = frames_drawn(page)
    page.get_by_role("button", name="Step").click()
    wait_for(lambda: frames_drawn(page) > drawn and figure(page, "Epoch") == 1, "the next frame")
    weight = page.evaluate("window.playground.lastHeader.weights[0][0][0]")
    assert -2.7 < weight < -2.3, weight          # one epoch of SGD moves it a little at most


def test_graph_view_downloads_and_upload(page, server_url, tmp_path):
    open_page(page, server_url)
    page.get_by_role("button", name="Graph").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    image = dialog.get_by_role("img")
    expect(image).to_have_attribute("alt", re.compile("microflow graph"))
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), "the drawing to load")
    dialog.get_by_label("Gradients").check()
    expect(dialog.get_by_role("img")).to_have_attribute("alt", re.compile("gradient"))
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    with page.expect_download() as download:
        page.get_by_role("button", name="Export data").click()
    path = download.value.path()
    rows = list(csv.reader(io.StringIO(pathlib.Path(path).read_text())))
    assert download.value.suggested_filename.endswith(".csv")
    assert len(rows) > 100
    for what, suffix in [("Export checkpoint", ""), ("Export script", ".py")]:
        with page.expect_download() as download:
            page.get_by_role("button", name=what).click()
        assert download.value.suggested_filename.endswith(suffix)
        assert pathlib.Path(download.value.path()).stat().st_size > 100

    # Upload: only the file's content is sent; the server's answer is shown.
    text = "x1,x2,label\n" + "".join(f"{x},{x / 2},{1 if x > 0 else -1}\n" for x in range(-5, 6) if x)
    page.get_by_label("Upload CSV").set_input_files(
        files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    wait_for(lambda: page.evaluate("window.playgroundApp.state.config.dataset") == "upload", "the uploaded data")
    expect(page.get_by_text("Your data: mine.csv")).to_be_visible()
    page.get_by_label("Upload CSV").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,label\n1,2,1\n1,oops,1\n"}])
    expect(page.get_by_role("alert")).to_contain_text("line 3")   # the server names the bad row

    # A message the server does not understand gets an answer on the page, not a dead socket.
    page.evaluate("window.playgroundApp.socket.send({type: 'bogus'})")
    expect(page.get_by_role("alert")).to_contain_text("unknown message type")
    page.get_by_role("button", name="Step").click()
    wait_for(lambda: figure(page, "Epoch") == 1, "a step after the bad message")
