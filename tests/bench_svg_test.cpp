// The SVG chart: well-formed XML, bars proportional to their values, floors where their
// values say, names escaped.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>

#include "bench/svg_chart.h"
#include "core/error.h"

namespace tessera {
namespace {

BenchRecord rec(const std::string& model, int64_t pos, const std::string& backend, double median, double floor_ms) {
  BenchRecord r;
  r.date_utc = "2026-11-22T10:11:12Z";
  r.gpu.name = "NVIDIA H100 80GB HBM3";
  r.commit = "abc1234";
  r.model = model;
  r.backend = backend;
  r.position = pos;
  r.median_ms = median;
  r.min_ms = median;
  r.floor_ms = floor_ms;
  r.ratio = median / floor_ms;
  return r;
}

// A tiny XML checker: every tag closes in order, attributes are quoted, no bare '&' or '<'
// in text. Returns "" when well formed, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      const std::string ent = semi == std::string::npos ? "" : s.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return "bare & at " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') { ++i; continue; }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = s.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(i);
    size_t quotes = 0;
    for (char c : tag) quotes += c == '"';
    if (quotes % 2) return "unbalanced quotes in <" + tag + ">";
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "</" + name + "> closes nothing open";
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = end + 1;
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

double attr(const std::string& element, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(element, m, std::regex(" " + name + "=\"([-0-9.e]+)\""))) return NAN;
  return std::stod(m[1]);
}

std::vector<std::string> elements(const std::string& svg, const std::string& prefix) {
  std::vector<std::string> out;
  for (size_t i = svg.find(prefix); i != std::string::npos; i = svg.find(prefix, i + 1))
    out.push_back(svg.substr(i, svg.find('>', i) - i + 1));
  return out;
}

const std::vector<BenchRecord> kRecords = {
    rec("llama-3.2-1b", 1, "megakernel", 0.8, 0.6), rec("llama-3.2-1b", 1, "ops", 1.6, 0.6),
    rec("llama-3.2-1b", 1, "hf-eager", 12.0, 0.6), rec("llama-3-8b", 4096, "megakernel", 4.0, 3.5),
    rec("llama-3-8b", 4096, "ops", 6.0, 3.5)};

TEST(BenchSvg, IsWellFormed) {
  EXPECT_EQ(xml_problem(svg_chart(kRecords)), "");
  EXPECT_EQ(xml_problem(svg_chart(kRecords, {.log_scale = true})), "");
  // The checker itself catches what it should.
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg>a & b</svg>"), "");
}

TEST(BenchSvg, BarsAreProportionalToTheirValues) {
  const std::string svg = svg_chart(kRecords);
  const auto bars = elements(svg, "<rect class=\"bar\"");
  ASSERT_EQ(bars.size(), kRecords.size());
  const double base = attr(bars[0], "y") + attr(bars[0], "height");
  const double px_per_ms = attr(bars[0], "height") / attr(bars[0], "data-value");
  EXPECT_GT(px_per_ms, 0);
  for (const std::string& b : bars) {
    EXPECT_NEAR(attr(b, "height"), attr(b, "data-value") * px_per_ms, 1e-2) << b;
    EXPECT_NEAR(attr(b, "y") + attr(b, "height"), base, 1e-2) << b;  // one baseline
  }
  // Floors: one per group, at the height their value gives.
  const auto floors = elements(svg, "<line class=\"floor\"");
  ASSERT_EQ(floors.size(), 2u);
  for (const std::string& f : floors) EXPECT_NEAR(base - attr(f, "y1"), attr(f, "data-value") * px_per_ms, 1e-2) << f;
}

TEST(BenchSvg, LogScaleIsLogarithmic) {
  const std::string svg = svg_chart(kRecords, {.log_scale = true});
  const auto bars = elements(svg, "<rect class=\"bar\"");
  // Heights are linear in log10(value): the slope from the first two bars fits all of them.
  std::vector<std::pair<double, double>> pts;
  for (const std::string& b : bars) pts.push_back({std::log10(attr(b, "data-value")), attr(b, "height")});
  const double slope = (pts[1].second - pts[0].second) / (pts[1].first - pts[0].first);
  EXPECT_GT(slope, 0);
  for (const auto& [lx, h] : pts) EXPECT_NEAR(h - pts[0].second, slope * (lx - pts[0].first), 1e-2);
}

TEST(BenchSvg, HasAxisTicksLegendAndTitle) {
  const std::string svg = svg_chart(kRecords);
  EXPECT_GE(elements(svg, "<line class=\"tick\"").size(), 3u);
  EXPECT_NE(svg.find(">megakernel</text>"), std::string::npos);
  EXPECT_NE(svg.find(">hf-eager</text>"), std::string::npos);
  EXPECT_NE(svg.find("NVIDIA H100 80GB HBM3"), std::string::npos);
  EXPECT_NE(svg.find("commit abc1234"), std::string::npos);
}

TEST(BenchSvg, EscapesNames) {
  std::vector<BenchRecord> rs = {rec("a<b&\"c\"", 1, "x'y>z", 1.0, 0.5)};
  const std::string svg = svg_chart(rs);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("a&lt;b&amp;&quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find("x&apos;y&gt;z"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

TEST(BenchSvg, RejectsNoRecords) { EXPECT_THROW(svg_chart({}), Error); }

}  // namespace
}  // namespace tessera
