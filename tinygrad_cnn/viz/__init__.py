"""See the graph behind a tensor: Graphviz pictures of the forward and backward graphs (``viz.graphviz``) and the
data of the interactive backward-pass explorer.

``draw_graph``/``graph_structure``/``render`` draw the forward graph (data and op nodes, edges labelled with
shapes) or the backward graph (one node per VJP, edges in the direction gradients flow, ending in the
``AccumulateGrad`` nodes of the leaves); see ``tinygrad_cnn.viz.graphviz`` for the details. ``explorer_data``
(``viz.record``) records one backward pass of a loss, step by step with its values, as plain JSON-able data;
``explore`` (``viz.explorer``) writes it as one self-contained interactive HTML page.
"""

from .dot import DotError, Rendered, render_source
from .explorer import explore, explorer_html
from .graphviz import (
    DIRECTIONS,
    INSTALL_HINT,
    GraphCluster,
    GraphEdge,
    GraphNode,
    GraphStructure,
    GraphvizNotFoundError,
    RenderedPath,
    draw_graph,
    graph_structure,
    op_label,
    op_name,
    render,
)
from .record import explorer_data

__all__ = ["DIRECTIONS", "INSTALL_HINT", "GraphCluster", "GraphEdge", "GraphNode", "GraphStructure",
           "GraphvizNotFoundError", "draw_graph", "graph_structure", "op_label", "op_name", "render",
           "DotError", "Rendered", "RenderedPath", "render_source", "explorer_data", "explore", "explorer_html"]
