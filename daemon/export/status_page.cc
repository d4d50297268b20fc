#include "daemon/export/status_page.h"

#include <cmath>
#include <functional>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "daemon/base/event_time.h"

namespace nsmd {
namespace {

// Rows shown per group-by metric; max_series bounds them anyway.
constexpr size_t kMaxSeriesShown = 50;

constexpr char kHead[] = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<title>nsmd</title>
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;
color:#1b1f24;background:#f6f7f9}
h1{font-size:1.1rem;color:#57606a;margin:0 0 .5rem}h2{font-size:1rem;margin:1.5rem 0 .5rem}
section,.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;
margin:.4rem 0}
.north-star{border:2px solid #0969da}.north-star .value{font-size:3rem;font-weight:600}
.value{font-size:1.4rem;font-weight:600}.name{font-weight:600}.role{font-size:.75rem;color:#57606a;
border:1px solid #d0d7de;border-radius:1rem;padding:0 .4rem;margin-left:.4rem}
.card.focus{border-color:#bf8700}.north-star .card{border:0;padding:0}
.up{color:#1a7f37}.down{color:#cf222e}.muted,.note{color:#57606a;font-size:.85rem}
ul.tree{list-style:none;padding-left:1.2rem;border-left:2px solid #d0d7de;margin:0}
table{border-collapse:collapse}td,th{text-align:left;padding:.15rem .8rem .15rem 0}
#stale{background:#fff8c5;padding:.4rem;border-radius:6px}
</style></head><body data-refreshes="0">
<p id="stale" hidden></p>
)";

// Fetches the page again and swaps the new #page in, so the values move
// without a reload; on failure the last values stay, marked as stale.
constexpr char kScript[] = R"(<script>
(function () {
  var refreshes = 0;
  function refresh() {
    fetch(location.pathname, {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("page");
      if (fresh) document.getElementById("page").replaceWith(fresh);
      document.body.dataset.refreshes = ++refreshes;
      document.getElementById("stale").hidden = true;
    }).catch(function (e) {
      var stale = document.getElementById("stale");
      stale.textContent = "nsmd did not answer (" + e.message + "); these are the last values seen";
      stale.hidden = false;
    });
  }
  setInterval(refresh, 5000);
})();
</script>
</body></html>
)";

std::string Escape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// "1,234" for whole numbers, 4 significant digits otherwise.
std::string FormatValue(double v) {
  if (!std::isfinite(v)) return "n/a";
  if (v != std::trunc(v) || std::fabs(v) >= 1e15) return absl::StrFormat("%.4g", v);
  const std::string digits = absl::StrFormat("%.0f", std::fabs(v));
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "3d", "5h", "12m3s": whole days or hours once the seconds stop mattering.
std::string FormatBehind(absl::Duration d) {
  if (d >= absl::Hours(48)) return absl::StrCat(absl::IDivDuration(d, absl::Hours(24), &d), "d");
  if (d >= absl::Hours(2)) return absl::StrCat(absl::IDivDuration(d, absl::Hours(1), &d), "h");
  return absl::FormatDuration(d);
}

std::string FormatTime(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// The current and previous window of one series.
struct SeriesValues {
  const SeriesSample* current = nullptr;
  const SeriesSample* previous = nullptr;
};

std::map<Labels, SeriesValues> SeriesOf(const MetricsSnapshot& snapshot, const std::string& name) {
  std::map<Labels, SeriesValues> out;
  for (const SeriesSample& s : snapshot.samples) {
    if (s.metric != name) continue;
    SeriesValues& v = out[s.labels];
    (s.window == "previous" ? v.previous : v.current) = &s;
  }
  return out;
}

// "value · previous P · change C" cells of one series.
std::string ValueCells(const SeriesValues& v, bool north_star) {
  std::string out;
  if (v.current == nullptr) {
    absl::StrAppend(&out, "<span class=\"value\"", north_star ? " id=\"north-star-value\"" : "",
                    ">no data</span>");
  } else {
    absl::StrAppend(&out, "<span class=\"value\"", north_star ? " id=\"north-star-value\"" : "",
                    " data-value=\"", absl::StrFormat("%.17g", v.current->value), "\">",
                    FormatValue(v.current->value), "</span>");
    // Lifetime windows start at 0: no start worth showing.
    if (v.current->window_start_ms != 0) {
      absl::StrAppend(&out, " <span class=\"muted\">window from ",
                      FormatTime(v.current->window_start_ms), "</span>");
    }
  }
  if (v.previous == nullptr) return out;
  const double prev = v.previous->value;
  absl::StrAppend(&out, "<br>previous window: <span class=\"previous\">", FormatValue(prev),
                  "</span>");
  if (v.current != nullptr && prev != 0 && std::isfinite(prev) && std::isfinite(v.current->value)) {
    const double change = (v.current->value - prev) / std::fabs(prev) * 100;
    // The current window is still filling: the change is "so far".
    absl::StrAppend(&out, " · change so far: <span class=\"change ", change < 0 ? "down" : "up",
                    "\">", absl::StrFormat("%+.1f %%", change), "</span>");
  }
  return out;
}

std::string LabelText(const Labels& labels) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : labels) parts.push_back(absl::StrCat(name, "=", value));
  return Escape(absl::StrJoin(parts, ", "));
}

// One metric's card: name, role, values (a table for group-by), metadata.
std::string MetricCard(const MetricDefinition& m, const MetricsSnapshot& snapshot) {
  const bool north_star = m.metadata.role == MetricRole::kNorthStar;
  const MetricMetadata& md = m.metadata;
  std::string out =
      absl::StrCat("<div data-metric=\"", Escape(m.name), "\" class=\"card",
                   md.role == MetricRole::kFocus ? " focus" : "", "\"", "><span class=\"name\">",
                   Escape(m.name), "</span><span class=\"role\">", MetricRoleName(md.role),
                   md.unit.empty() ? "" : absl::StrCat(", ", Escape(md.unit)), "</span><br>");
  const std::map<Labels, SeriesValues> series = SeriesOf(snapshot, m.name);
  if (m.group_by.empty() || series.empty()) {
    const auto it = series.find(Labels{});
    absl::StrAppend(&out, ValueCells(it == series.end() ? SeriesValues{} : it->second, north_star));
  } else {
    absl::StrAppend(&out, "<table>");
    size_t shown = 0;
    for (const auto& [labels, values] : series) {
      if (++shown > kMaxSeriesShown) break;
      absl::StrAppend(&out, "<tr><th>", LabelText(labels), "</th><td>", ValueCells(values, false),
                      "</td></tr>");
    }
    absl::StrAppend(&out, "</table>");
    if (series.size() > kMaxSeriesShown) {
      absl::StrAppend(&out, "<p class=\"note\">", series.size() - kMaxSeriesShown,
                      " more series on /metrics</p>");
    }
  }
  if (!md.description.empty()) {
    absl::StrAppend(&out, "<p class=\"note\">", Escape(md.description), "</p>");
  }
  return absl::StrCat(out, "</div>");
}

std::string NorthStarSection(const MetricDefinition& m, const MetricsSnapshot& snapshot) {
  const MetricMetadata& md = m.metadata;
  std::string out =
      absl::StrCat("<section class=\"north-star\"><h1>North star</h1>", MetricCard(m, snapshot));
  for (const auto& [label, text] :
       {std::pair<const char*, const std::string*>{"Decision question", &md.decision_question},
        {"Customer value", &md.customer_value},
        {"Owner", &md.owner},
        {"Cadence", &md.cadence}}) {
    if (text->empty()) continue;
    absl::StrAppend(&out, "<p><b>", label, ":</b> ", Escape(*text), "</p>");
  }
  return absl::StrCat(out, "</section>");
}

std::string HealthSection(const DaemonHealth& h, EventTime stream_time, absl::Time now) {
  std::string stream_time_text = "no event yet";
  if (stream_time != EventTime()) {
    const absl::Duration behind = absl::Trunc(now - stream_time.ToTime(), absl::Seconds(1));
    stream_time_text = absl::StrCat(FormatTime(stream_time.millis()), " <span class=\"muted\">(",
                                    behind <= absl::ZeroDuration()
                                        ? "up to date"
                                        : absl::StrCat(FormatBehind(behind), " behind now"),
                                    ")</span>");
  }
  const std::string ready =
      h.ready ? "<span class=\"up\">yes</span>"
              : absl::StrCat("<span class=\"down\">no: ", Escape(h.not_ready_reason), "</span>");
  const std::string lag =
      h.consumer_lag < 0 ? "unknown" : absl::StrCat(FormatValue(h.consumer_lag), " messages");
  return absl::StrCat("<h2>Health</h2><section id=\"health\"><table>",
                      "<tr><th>Ready</th><td id=\"ready\">", ready,
                      "</td></tr><tr><th>Stream time</th><td id=\"stream-time\">", stream_time_text,
                      "</td></tr><tr><th>Consumer lag</th><td id=\"lag\">", lag,
                      "</td></tr><tr><th>Rejected</th><td id=\"rejected\">",
                      FormatValue(h.rejected), "</td></tr><tr><th>Consumed</th><td>",
                      FormatValue(h.consumed), "</td></tr><tr><th>Applied</th><td>",
                      FormatValue(h.applied), "</td></tr><tr><th>Late</th><td>",
                      FormatValue(h.late), "</td></tr><tr><th>Duplicate</th><td>",
                      FormatValue(h.duplicate), "</td></tr></table></section>");
}

}  // namespace

std::string RenderStatusPage(const std::vector<MetricDefinition>& metrics,
                             const MetricsSnapshot& snapshot, const DaemonHealth& health,
                             absl::Time now) {
  absl::flat_hash_map<std::string, const MetricDefinition*> by_name;
  for (const MetricDefinition& m : metrics) by_name[m.name] = &m;
  absl::flat_hash_set<std::string> shown;
  std::string out = absl::StrCat(kHead, "<main id=\"page\">");
  // Each input under the metric that lists it; a metric reached twice is
  // shown once.
  std::function<void(const MetricDefinition&)> inputs = [&](const MetricDefinition& m) {
    bool open = false;
    for (const std::string& name : m.metadata.inputs) {
      auto it = by_name.find(name);
      if (it == by_name.end() || !shown.insert(name).second) continue;
      absl::StrAppend(&out, open ? "" : "<ul class=\"tree\">", "<li>");
      open = true;
      absl::StrAppend(&out, MetricCard(*it->second, snapshot));
      inputs(*it->second);
      absl::StrAppend(&out, "</li>");
    }
    if (open) absl::StrAppend(&out, "</ul>");
  };
  for (const MetricDefinition& m : metrics) {
    if (m.metadata.role != MetricRole::kNorthStar || !shown.insert(m.name).second) continue;
    absl::StrAppend(&out, NorthStarSection(m, snapshot), "<h2>Inputs</h2>");
    inputs(m);
  }
  for (const bool guardrails : {true, false}) {
    std::string cards;
    for (const MetricDefinition& m : metrics) {
      if ((m.metadata.role == MetricRole::kGuardrail) != guardrails || shown.contains(m.name)) {
        continue;
      }
      absl::StrAppend(&cards, MetricCard(m, snapshot));
    }
    if (!cards.empty()) {
      absl::StrAppend(&out, "<h2>", guardrails ? "Guardrails" : "Other metrics", "</h2>", cards);
    }
  }
  absl::StrAppend(&out, HealthSection(health, snapshot.stream_time, now),
                  "<p class=\"muted\">As of ",
                  absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", now, absl::UTCTimeZone()),
                  "; refreshes every 5 s. <a href=\"/metrics\">/metrics</a> · <a "
                  "href=\"/api/v1/metrics\">/api/v1/metrics</a> · <a "
                  "href=\"/api/v1/status\">/api/v1/status</a></p></main>",
                  kScript);
  return out;
}

}  // namespace nsmd
