// The SVG is written by hand like bench's chart (svg_chart.h): one polyline per run is a
// few lines of markup, and its points carry data attributes so tests can read them back.
#include "search/report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "bench/svg_chart.h"
#include "core/error.h"
#include "search/candidate_tree.h"

namespace tessera {

namespace {

std::string cost_text(const CandidateRecord& c) {
  if (c.cost_kind == CostKind::None) return "-";
  std::string s = fmt::format("{:.4f} ms {}", c.cost_s * 1e3, cost_kind_name(c.cost_kind));
  if (c.cost_kind == CostKind::Measured) s += fmt::format(" (spread {:.1f}%)", c.spread * 100);
  return s;
}

std::string md_cell(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  if (out.size() > 160) out = out.substr(0, 157) + "...";
  return out;
}

// The best as the loop kept it (the plan it wrote to best_plan.json; kept_best): a measured
// candidate a hair cheaper than the best, inside the noise, is not reported as the winner
// the loop did not keep.
const CandidateRecord* best_of(const std::vector<CandidateRecord>& cs) {
  const std::optional<size_t> i = kept_best(cs.size(), [&](size_t k) -> const CandidateRecord& { return cs[k]; });
  return i ? &cs[*i] : nullptr;
}

// The ok candidate with the lowest cost of the best's kind (the first among equals).
const CandidateRecord* cheapest_of(const std::vector<CandidateRecord>& cs, const CandidateRecord& best) {
  const CandidateRecord* low = &best;
  for (const CandidateRecord& c : cs)
    if (c.status == CandidateStatus::Ok && c.cost_kind == best.cost_kind && c.cost_s < low->cost_s) low = &c;
  return low;
}

// Best-so-far after each candidate of a run, in ms (NaN until the first ok one).
std::vector<double> best_so_far(const std::vector<CandidateRecord>& cs) {
  std::vector<double> out;
  double best = NAN;
  for (const CandidateRecord& c : cs) {
    if (c.status == CandidateStatus::Ok && (std::isnan(best) || c.cost_s * 1e3 < best)) best = c.cost_s * 1e3;
    out.push_back(best);
  }
  return out;
}

// A variant's sources (whole files) do not fit a table cell: the lineage shows the rest
// (advice, what it repairs) and the best's source is printed below the table's lead.
nlohmann::json table_params(const nlohmann::json& params) {
  nlohmann::json out = params;
  if (out.is_object())
    for (const char* k : {"source", "anchored", "edited_anchored"})
      if (out.contains(k) && out[k].is_string()) {
        const std::string text = out[k].get<std::string>();
        out[k] = fmt::format("({} lines)", std::count(text.begin(), text.end(), '\n'));
      }
  return out;
}

}  // namespace

std::string tune_report_markdown(const TuneStore& store) {
  std::string md = fmt::format("# Tuning report: `{}`\n\n", store.path());
  auto runs = store.runs();
  if (runs.empty()) return md + "No runs recorded.\n";
  std::map<int64_t, CandidateRecord> by_id;
  for (const CandidateRecord& c : store.candidates(-1)) by_id[c.id] = c;
  for (const RunRecord& r : runs) {
    std::vector<CandidateRecord> cs;
    for (const auto& [id, c] : by_id)
      if (c.run == r.id) cs.push_back(c);
    md += fmt::format("## Run {}: {} on {}, policy {}\n\n", r.id, r.model, r.target, r.policy);
    md += fmt::format("Started {} (UTC), seed {}, budget: {}, {}; settings `{}`.\n\n", r.started_utc, r.seed,
                      r.budget_candidates > 0 ? fmt::format("{} candidates", r.budget_candidates) : "no candidate limit",
                      r.budget_minutes > 0 ? fmt::format("{} min", r.budget_minutes) : "no time limit", r.settings.dump());
    std::map<std::string, int> counts;
    for (const CandidateRecord& c : cs) counts[status_name(c.status)] += 1;
    md += "| status | candidates |\n| --- | ---: |\n";
    for (const auto& [s, n] : counts) md += fmt::format("| {} | {} |\n", s, n);
    md += fmt::format("| all | {} |\n\n", cs.size());
    const CandidateRecord* best = best_of(cs);
    if (!best) {
      md += "No candidate passed the ladder.\n\n";
      continue;
    }
    const CandidateRecord* root = nullptr;
    for (const CandidateRecord& c : cs)
      if (c.parent < 0) {
        root = &c;
        break;
      }
    md += fmt::format("Best: candidate {}, **{}**", best->id, cost_text(*best));
    if (root && root != best && root->status == CandidateStatus::Ok && root->cost_kind == best->cost_kind)
      md += fmt::format(", {:.3f}x faster than the root (candidate {}, {})", root->cost_s / best->cost_s, root->id,
                        cost_text(*root));
    md += ".\n\n";
    if (const CandidateRecord* low = cheapest_of(cs, *best); low != best)
      md += fmt::format("Lowest recorded cost: candidate {}, {}: within the noise of the best, so not kept.\n\n",
                        low->id, cost_text(*low));
    if (best->op_params.contains("source") && best->op_params["source"].is_string())
      md += fmt::format("Source of the best variant:\n\n```cuda\n{}```\n\n", best->op_params["source"].get<std::string>());
    else
      md += fmt::format("Knobs: `{}`\n\n", best->knobs.is_null() ? std::string("(a whole plan)") : best->knobs.dump());
    // Lineage, root first.
    std::vector<const CandidateRecord*> chain;
    for (const CandidateRecord* c = best; c; c = c->parent >= 0 && by_id.count(c->parent) ? &by_id.at(c->parent) : nullptr) {
      chain.push_back(c);
      if (chain.size() > by_id.size()) break;
    }
    std::reverse(chain.begin(), chain.end());
    md += "Lineage of the best, root to leaf:\n\n| candidate | operator | parameters | status | cost |\n| ---: | --- | --- | --- | --- |\n";
    for (const CandidateRecord* c : chain)
      md += fmt::format("| {} | {} | `{}` | {} | {} |\n", c->id, c->op, md_cell(table_params(c->op_params).dump()),
                        status_name(c->status), cost_text(*c));
    md += "\n";
    // The failures, so a reader sees what the ladder caught.
    int shown = 0;
    for (const CandidateRecord& c : cs) {
      if (c.status == CandidateStatus::Ok || c.status == CandidateStatus::Pending) continue;
      if (shown++ == 0) md += "Rejected candidates (first 10):\n\n| candidate | status | log |\n| ---: | --- | --- |\n";
      if (shown > 10) break;
      md += fmt::format("| {} | {} | {} |\n", c.id, status_name(c.status), md_cell(c.log));
    }
    if (shown) md += "\n";
  }
  return md;
}

std::string tune_report_svg(const TuneStore& store) {
  struct Series {
    int64_t run;
    std::string label;
    std::vector<std::pair<int64_t, double>> points;  // (candidate index in run, ms)
    std::string kind;
  };
  std::vector<Series> series;
  for (const RunRecord& r : store.runs()) {
    auto cs = store.candidates(r.id);
    auto bsf = best_so_far(cs);
    Series s{r.id, fmt::format("run {} ({})", r.id, r.policy), {}, ""};
    for (size_t i = 0; i < cs.size(); ++i) {
      if (std::isnan(bsf[i])) continue;
      s.points.push_back({int64_t(i + 1), bsf[i]});
      if (cs[i].status == CandidateStatus::Ok) s.kind = cost_kind_name(cs[i].cost_kind);
    }
    if (!s.points.empty()) series.push_back(std::move(s));
  }
  if (series.empty()) fail("tune report: no run in '{}' has an ok candidate to chart", store.path());
  double lo = INFINITY, hi = -INFINITY;
  int64_t n = 1;
  bool predicted = false;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      lo = std::min(lo, y);
      hi = std::max(hi, y);
      n = std::max(n, x);
    }
    predicted |= s.kind == "predicted";
  }
  if (hi - lo < 1e-9) {
    hi += 0.05 * hi + 1e-6;
    lo -= 0.05 * lo;
  }
  const int W = 720, H = 360, L = 70, R = 170, T = 40, B = 50;
  const int pw = W - L - R, ph = H - T - B;
  auto X = [&](double x) { return L + (n > 1 ? (x - 1) / double(n - 1) : 0.5) * pw; };
  auto Y = [&](double y) { return T + (hi - y) / (hi - lo) * ph; };
  static const char* const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, W, H);
  svg += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n", L,
                     xml_escape(fmt::format("Best so far over candidates ({} cost)", predicted ? "predicted" : "measured")));
  svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, T + ph, L + pw, T + ph);
  svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", L, T, L, T + ph);
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4;
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4f}</text>\n", L - 6, Y(v) + 4, v);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">candidate</text>\n", L + pw / 2, H - 12);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"start\">1</text>\n", L, T + ph + 16);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", L + pw, T + ph + 16, n);
  svg += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">ms per step</text>\n",
                     T + ph / 2, T + ph / 2);
  for (size_t si = 0; si < series.size(); ++si) {
    const Series& s = series[si];
    const char* color = colors[si % 6];
    std::string pts;
    for (auto [x, y] : s.points) pts += fmt::format("{:.1f},{:.1f} ", X(double(x)), Y(y));
    svg += fmt::format("<polyline class=\"series\" data-run=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                       s.run, color, pts);
    for (auto [x, y] : s.points)
      svg += fmt::format("<circle class=\"best\" data-run=\"{}\" data-candidate=\"{}\" data-value=\"{:.6f}\" cx=\"{:.1f}\" "
                         "cy=\"{:.1f}\" r=\"2\" fill=\"{}\"/>\n",
                         s.run, x, y, X(double(x)), Y(y), color);
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", L + pw + 12, T + 18 * int(si), color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", L + pw + 30, T + 18 * int(si) + 10,
                       xml_escape(s.label + (s.kind.empty() ? "" : ", " + s.kind)));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace tessera
