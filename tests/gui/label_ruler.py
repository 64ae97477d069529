"""Measures every label the add-on's panels draw against the room it gets in the sidebar as it is.

Blender cuts a text that does not fit its button with "..." and cannot be asked whether it did. So the
add-on's panels draw, in the real window, through a stand-in layout that passes every call on to Blender's
and notes each label, button and split property's name with the room the layout gives it; after each draw
the text is measured with blf in the interface's font at the interface's scale.

Sub-panels that are closed (and so never drawn) are measured too: `measure_all()` runs every panel's draw()
through the same stand-in over a layout that draws nothing.

The rooms follow Blender's layout: a column's width is its parent's, a box's a margin less, a split's
columns their share, a row's items their share of its width in proportion to their natural widths (labels
and buttons; other items in a row count as equal shares). The margins were measured in this window
(Blender 5.2, the sidebar's default width): a text whose width plus its margin exceeds its room by 2
pixels shows "...", one that is 2 pixels short does not. They are in UI units (20 pixels at scale 1).
"""
from __future__ import annotations

import blf
import bpy

# Margins, in UI units (measured; see above).
PANEL = 1.8          # the region's category tabs and a panel's two borders
LABEL = 0.79         # a label's text padding
ICON_LABEL = 2.09    # a label with an icon (BLANK1 included)
BUTTON = 1.08        # an operator button's padding
ICON_BUTTON = 1.9    # a button with an icon
BOX = 0.55           # a box's border, inside its parent
DECORATOR = 1.0      # the keyframe-dot column of a property split
SPLIT_LABEL = 0.58   # a split property's name, in its 40 % column
CHECKBOX = 1.81      # a split boolean's checkbox, before its name in the 60 % column
NATURAL = 1.5        # Blender's estimate of a text item's width: the text plus this (plus one unit for an icon)
SPLIT_FACTOR = 0.4   # a property split's name column


class _Item:
    """A text the panel drew: `pad` units beside it, or a name in a property split (`split`: 'name' or
    'checkbox'). A nested layout is a _Node instead."""

    def __init__(self, text: str, pad: float, icon: bool, split: str | None = None):
        self.text, self.pad, self.icon, self.split = text, pad, icon, split


class _Node:
    def __init__(self, kind: str, factor: float = 0.0, columns: int = 1, decorate: bool = True):
        self.kind, self.factor, self.columns, self.decorate = kind, factor, columns, decorate
        self.children: list = []


class _Layout:
    """Stands in for a UILayout: passes everything on, records what takes room in a _Node (labels, buttons,
    progress bars, split properties' names; None for anything else), and keeps what the panel's labels said
    (text, icon) in `labels`, shared by the panel's layouts."""

    def __init__(self, layout, node: _Node, labels: list):
        object.__setattr__(self, "_layout", layout)
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_labels", labels)

    def __getattr__(self, name):
        return getattr(self._layout, name)

    def __setattr__(self, name, value):
        setattr(self._layout, name, value)

    def _sub(self, layout, kind: str, **shape) -> "_Layout":
        node = _Node(kind, **shape)
        self._node.children.append(node)
        return _Layout(layout, node, self._labels)

    def column(self, *args, **kwargs):
        return self._sub(self._layout.column(*args, **kwargs), "column")

    def row(self, *args, **kwargs):
        return self._sub(self._layout.row(*args, **kwargs), "row")

    def box(self, *args, **kwargs):
        return self._sub(self._layout.box(*args, **kwargs), "box")

    def split(self, *args, **kwargs):
        factor = kwargs.get("factor", args[0] if args else 0.0)
        return self._sub(self._layout.split(*args, **kwargs), "split", factor=factor)

    def grid_flow(self, *args, **kwargs):
        return self._sub(self._layout.grid_flow(*args, **kwargs), "grid", columns=max(kwargs.get("columns", 1), 1))

    def column_flow(self, *args, **kwargs):
        return self._sub(self._layout.column_flow(*args, **kwargs), "grid", columns=max(kwargs.get("columns", 1), 1))

    def panel(self, *args, **kwargs):
        header, body = self._layout.panel(*args, **kwargs)
        return self._sub(header, "row"), (self._sub(body, "column") if body is not None else None)

    def label(self, *args, **kwargs):
        text = kwargs.get("text", args[0] if args else "")
        self._labels.append((text, kwargs.get("icon", 'NONE')))
        icon = kwargs.get("icon", 'NONE') != 'NONE' or bool(kwargs.get("icon_value", 0))
        if text:
            self._node.children.append(_Item(text, ICON_LABEL if icon else LABEL, icon))
        return self._layout.label(*args, **kwargs)

    def operator(self, idname, *args, **kwargs):
        text = kwargs.get("text")
        if text is None:
            module, name = idname.split(".")
            text = getattr(getattr(bpy.ops, module), name).get_rna_type().name
        icon = kwargs.get("icon", 'NONE') != 'NONE' or bool(kwargs.get("icon_value", 0))
        if text:
            self._node.children.append(_Item(text, ICON_BUTTON if icon else BUTTON, icon))
        else:
            self._node.children.append(None)
        return self._layout.operator(idname, *args, **kwargs)

    def progress(self, *args, **kwargs):
        text = kwargs.get("text", "")
        self._node.children.append(_Item(text, BUTTON, False) if text else None)
        return self._layout.progress(*args, **kwargs)

    def prop(self, data, name, *args, **kwargs):
        text = kwargs.get("text")
        definition = data.bl_rna.properties.get(name)  # None: an ID property ('["name"]'), drawn as a field
        if text is None and definition is not None:
            text = definition.name
        if definition is not None and self._layout.use_property_split and text and not kwargs.get("icon_only"):
            split = 'checkbox' if definition.type == 'BOOLEAN' and not kwargs.get("toggle") else 'name'
            node = _Node("prop", decorate=self._layout.use_property_decorate)
            node.children.append(_Item(text, CHECKBOX if split == 'checkbox' else SPLIT_LABEL, False, split))
            self._node.children.append(node)
        else:
            self._node.children.append(None)  # a field: its text shares the field with its value
        return self._layout.prop(data, name, *args, **kwargs)


class _Nothing:
    """A layout that draws nothing (for a closed panel): every call answers another _Nothing; property
    splits are remembered and passed on to sub-layouts as Blender does, since they decide where a property's
    name goes."""

    def __init__(self, parent: "_Nothing | None" = None):
        object.__setattr__(self, "use_property_split", parent.use_property_split if parent else False)
        object.__setattr__(self, "use_property_decorate", parent.use_property_decorate if parent else True)

    def __getattr__(self, name):
        return lambda *args, **kwargs: _Nothing(self)

    def __setattr__(self, name, value):
        if name in ("use_property_split", "use_property_decorate"):
            object.__setattr__(self, name, value)

    def panel(self, *args, **kwargs):
        return _Nothing(self), _Nothing(self)


class _PanelView:
    """What a panel's draw() gets as `self`: the panel, with the stand-in layout."""

    def __init__(self, panel, layout: _Layout):
        self._panel, self.layout = panel, layout

    def __getattr__(self, name):
        return getattr(self._panel, name)


class LabelRuler:
    """Wraps the draw() of every panel in `panels_module.CLASSES`; `overflows()` lists every text that did
    not fit since, `labels(panel)` what a panel drew last (text, icon) for other checks."""

    def __init__(self, panels_module):
        self._overflows: dict[tuple[str, str], str] = {}
        self._labels: dict[str, list[tuple[str, str]]] = {}
        self._draws = {cls: cls.draw for cls in panels_module.CLASSES if issubclass(cls, bpy.types.Panel)}
        for cls in self._draws:
            self._wrap(cls)

    def _wrap(self, cls) -> None:
        ruler = self

        def draw(panel, context):
            ruler._draw(cls, panel, panel.layout, context)

        cls.draw = draw

    def _draw(self, cls, panel, layout, context) -> None:
        root, labels = _Node("column"), []
        self._draws[cls](_PanelView(panel or cls, _Layout(layout, root, labels)), context)
        self._labels[cls.bl_label] = labels
        unit = 20 * context.preferences.system.ui_scale
        self._measure(cls.bl_label, root, context.region.width - PANEL * unit, unit, context)

    def measure_all(self, context) -> None:
        """Measure every panel that would show now, open or closed (`context`: the sidebar's)."""
        for cls in self._draws:
            if not hasattr(cls, "poll") or cls.poll(context):
                self._draw(cls, None, _Nothing(), context)

    def labels(self, panel_label: str) -> list[tuple[str, str]]:
        return self._labels.get(panel_label, [])

    def error_labels(self, panel_label: str) -> list[str]:
        return [text for text, icon in self.labels(panel_label) if icon == 'ERROR']

    def overflows(self) -> list[str]:
        return list(self._overflows.values())

    # --- rooms --------------------------------------------------------------------------------------------
    def _measure(self, panel: str, node: _Node, room: float, unit: float, context) -> None:
        for child, child_room in self._rooms(node, room, unit, context):
            if isinstance(child, _Node):
                self._measure(panel, child, child_room, unit, context)
            elif isinstance(child, _Item):
                needed = text_width(context, child.text) + child.pad * unit
                if needed > child_room:
                    self._overflows[(panel, child.text)] = (
                        f"{panel}: {child.text!r} needs {needed:.0f} px, has {child_room:.0f} px")

    def _rooms(self, node: _Node, room: float, unit: float, context):
        children = node.children
        if node.kind in {"column", "box"}:
            inner = room - BOX * unit if node.kind == "box" else room
            return [(child, inner) for child in children]
        if node.kind == "prop":
            field = room - (DECORATOR * unit if node.decorate else 0.0)
            (item,) = children
            share = SPLIT_FACTOR if item.split == 'name' else 1 - SPLIT_FACTOR
            return [(item, field * share)]
        if node.kind == "split":
            if node.factor > 0 and len(children) > 1:
                rest = room * (1 - node.factor) / (len(children) - 1)
                return [(children[0], room * node.factor)] + [(child, rest) for child in children[1:]]
            return [(child, room / max(len(children), 1)) for child in children]
        if node.kind == "grid":
            return [(child, room / node.columns) for child in children]
        # a row: text items share in proportion to their natural widths; anything else makes equal shares
        if children and all(isinstance(c, _Item) for c in children):
            natural = [text_width(context, c.text) + (NATURAL + (1 if c.icon else 0)) * unit for c in children]
            scale = min(1.0, room / sum(natural))  # a row with room to spare fits every item
            return [(child, width * scale) for child, width in zip(children, natural)]
        return [(child, room / max(len(children), 1)) for child in children]


def text_width(context, text: str) -> float:
    """`text`'s width in pixels in the interface font at the interface's scale."""
    style = context.preferences.ui_styles[0].widget
    blf.size(0, style.points * context.preferences.system.ui_scale)
    return blf.dimensions(0, text)[0]
