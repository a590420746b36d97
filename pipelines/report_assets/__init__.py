"""Static pieces of the HTML compliance report: the stylesheet and the SVG chart drawing."""
