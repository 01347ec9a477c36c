// The benchmark chart: ms/token per backend, grouped by model and position, with each
// group's floor drawn across it, as one self-contained SVG file (no scripts, no fonts to
// fetch) that renders the same in a browser, on GitHub and in an image viewer. Written by
// hand: the chart is a few dozen rectangles and lines, not worth a plotting dependency.
#pragma once

#include <string>
#include <vector>

#include "bench/record.h"

namespace tessera {

struct ChartOptions {
  bool log_scale = false;  // for groups whose times differ by orders of magnitude
  int plot_height = 320;   // pixels of the value axis
};

// Groups and series as report_layout() arranges them. Every bar is a <rect class="bar">
// with data-series, data-group and data-value (ms) attributes, every floor a <line
// class="floor"> with data-value, so tests and scripts can read values back. Throws
// tessera::Error for no records.
std::string svg_chart(const std::vector<BenchRecord>& records, const ChartOptions& options = {});

// XML text and attribute escaping (& < > " ').
std::string xml_escape(const std::string& s);

}  // namespace tessera
