// `tessera tune --report`: what a tuning database holds, for people. Markdown with every
// run (settings, verdict counts, best candidate) and the winner's lineage from the root to
// the leaf (each step's operator, what it changed, its verdict and cost), and an SVG line
// chart of best-so-far cost over candidates, one line per run. Costs are always shown
// with their kind (predicted or measured).
#pragma once

#include <string>

#include "search/store.h"

namespace tessera {

std::string tune_report_markdown(const TuneStore& store);
// Every point is a <circle class="best"> with data-run, data-candidate and data-value (ms).
// Throws tessera::Error when no run has an ok candidate.
std::string tune_report_svg(const TuneStore& store);

}  // namespace tessera
