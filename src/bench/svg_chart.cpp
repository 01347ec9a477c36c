// Layout is computed in plain pixels from a few constants: bars of a fixed width, groups
// separated by a gap, the value axis scaled to a "nice" maximum (1, 2 or 5 times a power of
// ten) so tick labels are round numbers. Log scale spans whole decades.
#include "bench/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace tessera {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr int kLeft = 80, kRight = 30, kTop = 60, kBottom = 70, kLegendRow = 22;
constexpr int kBar = 18, kGroupGap = 36;
constexpr int kMinGroup = 96, kMinPlot = 600;  // room for group labels and the title
const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

double nice_ceiling(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

// Maps milliseconds to a y pixel and lists the ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // value range (log: decades' bounds)
  int top = 0, height = 0;
  std::vector<double> ticks;

  double y(double v) const {
    double f = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
    return top + height * (1.0 - std::clamp(f, 0.0, 1.0));
  }
};

Axis make_axis(double vmin, double vmax, const ChartOptions& o) {
  Axis a;
  a.log = o.log_scale;
  a.top = kTop;
  a.height = o.plot_height;
  if (a.log) {
    a.lo = std::pow(10.0, std::floor(std::log10(vmin)));
    a.hi = std::pow(10.0, std::ceil(std::log10(vmax)));
    if (a.hi <= a.lo) a.hi = a.lo * 10;
    for (double t = a.lo; t <= a.hi * 1.0001; t *= 10) a.ticks.push_back(t);
  } else {
    a.lo = 0;
    const double step = nice_ceiling(vmax / 5);
    a.hi = step * std::ceil(vmax * 1.05 / step);
    for (int i = 0; i * step <= a.hi * 1.0001; ++i) a.ticks.push_back(i * step);
  }
  return a;
}

std::string tick_label(double v) {
  return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:g}", v);
}

}  // namespace

std::string svg_chart(const std::vector<BenchRecord>& records, const ChartOptions& o) {
  if (records.empty()) fail("svg chart: no records to draw");
  if (o.plot_height < 50) fail("svg chart: plot height {} is too small (at least 50)", o.plot_height);
  const ReportLayout layout = report_layout(records);
  const int series = int(layout.columns.size());
  const int groups = int(layout.rows.size());

  double vmin = 0, vmax = 0;
  for (const ReportRow& row : layout.rows) {
    for (const BenchRecord* r : row.cells)
      if (r) {
        vmax = std::max(vmax, r->median_ms);
        vmin = vmin == 0 ? r->median_ms : std::min(vmin, r->median_ms);
      }
    vmax = std::max(vmax, row.floor_ms);
    if (row.floor_ms > 0) vmin = std::min(vmin, row.floor_ms);
  }
  if (!(vmax > 0) || !(vmin > 0)) fail("svg chart: the records hold no positive times");
  const Axis axis = make_axis(vmin, vmax, o);

  const int bars_w = series * kBar;
  const int group_w = std::max(bars_w, kMinGroup);
  const int plot_w = std::max(groups * group_w + (groups + 1) * kGroupGap, kMinPlot);
  const int legend_h = kLegendRow * (series + 1);
  const int width = kLeft + plot_w + kRight;
  const int height = kTop + o.plot_height + kBottom + legend_h;
  const double base_y = kTop + o.plot_height;

  std::set<std::string> gpus, commits;
  for (const BenchRecord& r : records) {
    gpus.insert(r.gpu.name);
    commits.insert(r.commit);
  }
  auto join = [](const std::set<std::string>& s) {
    std::string out;
    for (const std::string& v : s) out += (out.empty() ? "" : ", ") + v;
    return out;
  };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height);
  svg += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n", width, height);
  svg += fmt::format("<text class=\"title\" x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
                     width / 2, xml_escape(fmt::format("Decode step, ms/token per backend ({}, commit {})", join(gpus), join(commits))));
  svg += fmt::format("<text x=\"{}\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n", width / 2,
                     xml_escape(std::string("median of the timed steps; dashed line: the speed-of-light floor") +
                                (axis.log ? "; log scale" : "")));

  // Value axis with ticks and light grid lines.
  svg += fmt::format("<g class=\"axis\">\n<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", kLeft,
                     kTop, base_y);
  for (double t : axis.ticks) {
    const double y = axis.y(t);
    svg += fmt::format(
        "<line class=\"tick\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, y, kLeft + plot_w, y, kLeft - 6, y + 4, xml_escape(tick_label(t)));
  }
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", kLeft, base_y,
                     kLeft + plot_w);
  svg += fmt::format("<text x=\"18\" y=\"{0}\" transform=\"rotate(-90 18 {0})\" text-anchor=\"middle\">ms/token</text>\n</g>\n",
                     kTop + o.plot_height / 2);

  // Bars and floors, one group per row.
  for (int g = 0; g < groups; ++g) {
    const ReportRow& row = layout.rows[size_t(g)];
    const int x0 = kLeft + kGroupGap + g * (group_w + kGroupGap) + (group_w - bars_w) / 2;
    const std::string group = fmt::format("{} @ {}", row.model, row.position);
    svg += fmt::format("<g class=\"group\" data-group=\"{}\">\n", xml_escape(group));
    for (int s = 0; s < series; ++s) {
      const BenchRecord* r = row.cells[size_t(s)];
      if (!r) continue;
      const double y = axis.y(r->median_ms);
      svg += fmt::format(
          "<rect class=\"bar\" data-series=\"{}\" data-group=\"{}\" data-value=\"{}\" x=\"{}\" y=\"{:.3f}\" "
          "width=\"{}\" height=\"{:.3f}\" fill=\"{}\"><title>{}</title></rect>\n",
          xml_escape(layout.columns[size_t(s)]), xml_escape(group), r->median_ms, x0 + s * kBar, y, kBar - 2,
          base_y - y, kColors[s % 8],
          xml_escape(fmt::format("{}: {:.3f} ms ({:.2f}x floor)", layout.columns[size_t(s)], r->median_ms, r->ratio)));
    }
    if (row.floor_ms > 0) {
      const double fy = axis.y(row.floor_ms);
      svg += fmt::format(
          "<line class=\"floor\" data-value=\"{}\" x1=\"{}\" y1=\"{:.3f}\" x2=\"{}\" y2=\"{:.3f}\" stroke=\"black\" "
          "stroke-width=\"2\" stroke-dasharray=\"5 3\"/>\n",
          row.floor_ms, x0 - 4, fy, x0 + bars_w + 2, fy);
    }
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x0 + bars_w / 2, base_y + 18,
                       xml_escape(row.model));
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#555\">pos {}</text>\n</g>\n",
                       x0 + bars_w / 2, base_y + 34, row.position);
  }

  // Legend: one swatch per series, then the floor's dash.
  const double ly = base_y + kBottom - 10;
  svg += "<g class=\"legend\">\n";
  for (int s = 0; s < series; ++s)
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{:.1f}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{:.1f}\">{}</text>\n",
        kLeft, ly + s * kLegendRow, kColors[s % 8], kLeft + 18, ly + s * kLegendRow + 11,
        xml_escape(layout.columns[size_t(s)]));
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"black\" stroke-width=\"2\" "
      "stroke-dasharray=\"5 3\"/><text x=\"{}\" y=\"{:.1f}\">floor (bytes / copy bandwidth, flops / matmul rate)</text>\n",
      kLeft, ly + series * kLegendRow + 6, kLeft + 12, ly + series * kLegendRow + 6, kLeft + 18,
      ly + series * kLegendRow + 11);
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace tessera
