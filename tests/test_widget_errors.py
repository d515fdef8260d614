"""The widget_errors fixture itself: a crash in a callback must not pass unnoticed."""

def test_widget_errors_catches_a_crashing_callback(widget_errors):
    import ipywidgets as w
    b = w.Button()
    b.on_click(lambda _b: 1 / 0)
    b.click()
    assert len(widget_errors) == 1
