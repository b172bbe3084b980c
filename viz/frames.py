"""Frames pushed straight to the widgets that show them, without re-rendering the page.

A Solara re-render walks the whole component tree (about 240 elements here) and costs tens of milliseconds on
two busy cores; at ten frames per second that alone would fill a core. So the parts of the page that change
with every frame (header, map, charts, inspector) register a *sink*: their widget, the trait that holds what
they show, and a function that computes it for a frame. :meth:`FrameSinks.push` computes each and sets the
trait directly, which sends only that value to the browser. A component still renders normally when its own
settings change (another mediator, another compartment), and re-registers its function then.

The pushed trait is never one the component passes to its element: Solara would otherwise set it back to the
value it last rendered when a parent re-renders. So a sink's first value is pushed when it is registered.

Examples
--------
>>> class W:
...     text = ""
>>> sinks, w = FrameSinks(), W()
>>> sinks.register("header", w, "text", lambda seq: f"frame {seq}")
>>> sinks.push(3)
>>> w.text
'frame 3'
>>> sinks.unregister("header", w)
>>> sinks.push(4); w.text
'frame 3'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import ipyvue
import solara
import traitlets

__all__ = ["FrameSinks", "LiveHTML", "LiveHtmlWidget", "use_sink"]

log = logging.getLogger("viz.frames")


class FrameSinks:
    """One session's widgets that show each frame, by name."""

    def __init__(self):
        self._lock = threading.Lock()
        self._push_lock = threading.Lock()  # one frame at a time (the play loop, or a click while paused)
        self._sinks: dict[str, tuple[object, str, Callable[[int], object]]] = {}

    def register(self, name: str, widget, trait: str, make: Callable[[int], object]) -> None:
        """Show frames in ``widget.<trait>``, computed by ``make(seq)`` (replacing an earlier sink of that name)."""
        with self._lock:
            self._sinks[name] = (widget, trait, make)

    def unregister(self, name: str, widget) -> None:
        """Forget ``name`` if it is still ``widget``'s sink."""
        with self._lock:
            if name in self._sinks and self._sinks[name][0] is widget:
                del self._sinks[name]

    def push(self, seq: int) -> None:
        """Compute every sink's value for frame ``seq`` and set it where it differs from what is shown."""
        with self._lock:
            sinks = list(self._sinks.items())
        with self._push_lock:
            for _name, (widget, trait, make) in sinks:  # over a handful of widgets
                value = make(seq)
                if getattr(widget, trait) != value:
                    setattr(widget, trait, value)


def use_sink(sinks: FrameSinks, name: str, element, trait: str, make: Callable[[int], object], seq: int) -> None:
    """Register ``element``'s widget as the sink ``name`` after each render, showing ``make(seq)`` at once (a Solara
    hook). ``trait`` must not be among the element's arguments (see the module's docstring)."""

    last = solara.use_ref(None)

    def attach():
        try:
            widget = last.current = solara.get_widget(element)
        except KeyError:  # Solara kept the widget of an earlier, equal element
            widget = last.current
            if widget is None:
                return None
        sinks.register(name, widget, trait, make)
        value = make(seq)
        if getattr(widget, trait) != value:
            setattr(widget, trait, value)
        return lambda: sinks.unregister(name, widget)

    solara.use_effect(attach)


class LiveHtmlWidget(ipyvue.VueTemplate):
    """A ``<div>`` whose HTML is the ``html`` trait."""

    template_file = (__file__, "live_html.vue")
    html = traitlets.Unicode("").tag(sync=True)


@solara.component
def LiveHTML(sinks: FrameSinks, name: str, make: Callable[[int], str], seq: int, classes: tuple[str, ...] = ()):
    """An HTML block whose content is ``make(seq)``, pushed each frame as the sink ``name``."""
    with solara.Div(classes=list(classes)):
        el = LiveHtmlWidget.element()
    use_sink(sinks, name, el, "html", make, seq)
