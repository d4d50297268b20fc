// The HTML report: one page, inline CSS and SVG, no script and no external
// asset, so it can be mailed or archived as one file.
#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "daemon/validate/validation_report.h"

namespace nsmd {
namespace {

std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Day(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Fixed(const std::optional<double>& v, const absl::FormatSpec<double>& format) {
  return v ? absl::StrFormat(format, *v) : std::string("&ndash;");
}

// A number for an axis label: 1234567 -> 1.23M.
std::string Short(double v) {
  const double a = std::fabs(v);
  if (a >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  if (a >= 1e4) return absl::StrFormat("%.3gk", v / 1e3);
  return absl::StrFormat("%.4g", v);
}

constexpr int kWidth = 640, kHeight = 180, kLeft = 56, kRight = 12, kTop = 14, kBottom = 26;

// An SVG line chart of `values` (NaN: a gap) against their index, y from
// `lo` to `hi`; `labels` under the first and last point; a dashed line at
// `mark` if given. `css_class` names the chart for readers and tests.
std::string LineChart(const std::vector<double>& values, double lo, double hi,
                      const std::string& first_label, const std::string& last_label,
                      std::optional<double> mark, const std::string& css_class) {
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const int n = static_cast<int>(values.size());
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x = [&](int i) { return kLeft + (n > 1 ? plot_w * i / (n - 1) : plot_w / 2); };
  auto y = [&](double v) { return kTop + plot_h * (hi - v) / (hi - lo); };
  std::string svg = absl::StrFormat(
      "<svg class=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\">\n",
      css_class, kWidth, kHeight, kWidth, kHeight);
  absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
                                        "fill=\"#fafafa\" stroke=\"#ccc\"/>\n",
                                        kLeft, kTop, plot_w, plot_h));
  absl::StrAppend(
      &svg, absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
                            "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n",
                            kLeft - 4, kTop + 10, Short(hi), kLeft - 4, kTop + plot_h, Short(lo)));
  absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"%d\">%s</text>\n"
                                        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
                                        kLeft, kHeight - 6, Escape(first_label), kWidth - kRight,
                                        kHeight - 6, Escape(last_label)));
  if (mark && *mark >= lo && *mark <= hi) {
    absl::StrAppend(&svg,
                    absl::StrFormat("<line class=\"threshold\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
                                    "y2=\"%.1f\" stroke=\"#c33\" stroke-dasharray=\"4 3\"/>\n",
                                    kLeft, kWidth - kRight, y(*mark), y(*mark)));
  }
  // One polyline per run of present values.
  std::string points;
  auto flush = [&] {
    if (!points.empty()) {
      absl::StrAppend(&svg,
                      "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" "
                      "points=\"",
                      points, "\"/>\n");
    }
    points.clear();
  };
  for (int i = 0; i < n; ++i) {
    if (std::isnan(values[i])) {
      flush();
      continue;
    }
    absl::StrAppend(&points, points.empty() ? "" : " ",
                    absl::StrFormat("%.1f,%.1f", x(i), y(values[i])));
    absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" "
                                          "fill=\"#1f5fa8\"/>\n",
                                          x(i), y(values[i])));
  }
  flush();
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

std::string SeriesChart(const MetricSeries& m, const PeriodTable& table) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : m.values) {
    if (std::isnan(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo > hi) lo = hi = 0;
  const std::string first = table.period_starts_ms.empty() ? "" : Day(table.period_starts_ms[0]);
  const std::string last = table.period_starts_ms.empty() ? "" : Day(table.period_starts_ms.back());
  return LineChart(m.values, std::min(lo, 0.0), hi, first, last, std::nullopt, "series-chart");
}

std::string LagChart(const MetricScore& s, const ValidationResult& result) {
  std::vector<double> r;
  for (const Correlation& c : s.lead.profile) r.push_back(c.r ? *c.r : NAN);
  const std::string period = PeriodName(*result.table);
  return LineChart(r, -1, 1, absl::StrCat("lag 0"),
                   absl::StrCat("lag ", result.options.max_lag, " ", period, "s"),
                   result.options.threshold, "lag-chart");
}

constexpr char kStyle[] = R"(<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.leads { background: #e3f4e1; } .moves_with { background: #fdf6d8; }
.does_not_lead { background: #fbe3e1; } .not_enough_history { background: #eee; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
.metric { margin: 1.5em 0; } .q { color: #555; margin: 0.2em 0; }
</style>
)";

}  // namespace

std::string ValidationHtml(const ValidationResult& result, absl::string_view title) {
  const PeriodTable& table = *result.table;
  const std::string period = PeriodName(table);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  absl::StrAppend(&h, "<title>nsmd validate: ", Escape(title), "</title>\n", kStyle,
                  "</head>\n<body>\n<h1>Is the north star a good one?</h1>\n");
  absl::StrAppend(&h, "<p>Config <code>", Escape(title), "</code>: ", table.period_starts_ms.size(),
                  " complete ", period, "s");
  if (!table.period_starts_ms.empty()) {
    absl::StrAppend(&h, " from ", Day(table.period_starts_ms.front()), " to ", Day(table.end_ms));
  }
  absl::StrAppend(
      &h, ", validated against <b>", Escape(result.validation->name), "</b>. ",
      absl::StrFormat("Lead: Pearson r of the metric in %s <i>t</i> with %s in %s "
                      "<i>t</i>+lag, lags 0..%d; it leads when the best r is at "
                      "least %.2f at a lag of 1 or more, with at least %d %ss "
                      "paired. Moved: share of %s-over-%s changes beyond %.1f%% "
                      "of the previous value. CV: standard deviation / mean.",
                      period, Escape(result.validation->name), period, result.options.max_lag,
                      result.options.threshold, result.options.min_periods, period, period, period,
                      result.options.noise_band * 100),
      "</p>\n");

  absl::StrAppend(&h,
                  "<h2>North star and candidates, side by side</h2>\n<table id=\"scores\">\n"
                  "<tr><th>role</th><th>metric</th><th>leads ",
                  Escape(result.validation->name),
                  "?</th><th>best lag</th><th>r</th><th>pairs</th><th>moved</th><th>CV</th>"
                  "</tr>\n");
  for (const MetricScore& s : result.scores) {
    absl::StrAppend(
        &h, "<tr class=\"", VerdictName(s.lead.verdict), "\"><td>",
        MetricRoleName(s.metric->metadata.role), "</td><td>", Escape(s.metric->name), "</td><td>",
        Escape(LeadVerdictText(s, result)), "</td><td class=\"num\">",
        s.lead.best_lag >= 0 ? absl::StrCat(s.lead.best_lag) : "&ndash;", "</td><td class=\"num\">",
        Fixed(s.lead.best.r, "%.2f"), "</td><td class=\"num\">", s.lead.best.pairs,
        "</td><td class=\"num\">",
        Fixed(s.movement.share_moved ? std::optional<double>(*s.movement.share_moved * 100)
                                     : std::nullopt,
              "%.0f%%"),
        "</td><td class=\"num\">", Fixed(s.movement.coefficient_of_variation, "%.2f"),
        "</td></tr>\n");
  }
  absl::StrAppend(&h, "</table>\n");

  absl::StrAppend(&h,
                  "<h2>Lag profiles</h2>\n<p>r at each lag; the dashed line is the "
                  "threshold.</p>\n<table id=\"lags\">\n<tr><th>metric</th>");
  for (int lag = 0; lag <= result.options.max_lag; ++lag) {
    absl::StrAppend(&h, "<th>lag ", lag, "</th>");
  }
  absl::StrAppend(&h, "</tr>\n");
  for (const MetricScore& s : result.scores) {
    absl::StrAppend(&h, "<tr><td>", Escape(s.metric->name), "</td>");
    for (const Correlation& c : s.lead.profile) {
      absl::StrAppend(&h, "<td class=\"num\">", Fixed(c.r, "%.2f"), "</td>");
    }
    absl::StrAppend(&h, "</tr>\n");
  }
  absl::StrAppend(&h, "</table>\n");
  for (const MetricScore& s : result.scores) {
    absl::StrAppend(&h, "<div class=\"metric\"><h3>", Escape(s.metric->name), " &rarr; ",
                    Escape(result.validation->name), "</h3>\n", LagChart(s, result), "</div>\n");
  }

  if (!result.drivers.empty()) {
    absl::StrAppend(&h, "<h2>Driven by its inputs?</h2>\n<p>r of each input's ", period, "-over-",
                    period, " change with the north star's change in the same ", period,
                    " and in the next one.</p>\n<table id=\"drivers\">\n<tr><th>input"
                    "</th><th>same ",
                    period, "</th><th>next ", period, "</th></tr>\n");
    for (const DriverScore& d : result.drivers) {
      absl::StrAppend(&h, "<tr><td>", Escape(d.input->name), "</td><td class=\"num\">",
                      Fixed(d.result.same_period.r, "%.2f"), "</td><td class=\"num\">",
                      Fixed(d.result.next_period.r, "%.2f"), "</td></tr>\n");
    }
    absl::StrAppend(&h, "</table>\n");
  }

  absl::StrAppend(&h, "<h2>Series</h2>\n");
  for (const MetricSeries& m : table.metrics) {
    absl::StrAppend(&h, "<div class=\"metric\"><h3>", Escape(m.name), " <small>(",
                    MetricRoleName(m.metadata.role), "; ", Escape(m.reading), ")</small></h3>\n");
    if (!m.metadata.customer_value.empty()) {
      absl::StrAppend(&h, "<p class=\"q\"><b>Customer value:</b> ",
                      Escape(m.metadata.customer_value), "</p>\n");
    }
    if (!m.metadata.decision_question.empty()) {
      absl::StrAppend(&h, "<p class=\"q\"><b>Decision question:</b> ",
                      Escape(m.metadata.decision_question), "</p>\n");
    }
    absl::StrAppend(&h, SeriesChart(m, table), "</div>\n");
  }
  for (const auto& [metric, reason] : table.skipped) {
    absl::StrAppend(&h, "<p>Skipped <code>", Escape(metric), "</code>: ", Escape(reason), "</p>\n");
  }
  absl::StrAppend(&h, "</body>\n</html>\n");
  return h;
}

}  // namespace nsmd
