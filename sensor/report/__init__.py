"""The self-contained HTML session report (``hipsense report SESSION -o report.html``)."""

from sensor.report.html import ReportMeta, render_report

__all__ = ["ReportMeta", "render_report"]
