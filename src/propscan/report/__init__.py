"""Reports over analysed articles. ``propscan.report.html.render_article`` makes the HTML page."""

from propscan.report.html import render_article

__all__ = ["render_article"]
