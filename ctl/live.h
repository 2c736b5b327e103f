// ctl/live.h — blkgatectl's live views: `stats` (rates and latency percentiles from two samples,
// as iostat; Prometheus text) and `monitor` (one line per event, as udevadm monitor).
//
// The renderers are pure (stats_render.cpp, prometheus.cpp, event_render.cpp) and unit-tested;
// RunLive (live.cpp) is the I/O around them: the subscription's loop and the --watch loop.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"

namespace blkgate::ctl {

// The report of the `stats` sample `now` (the daemon's reply data) against the earlier sample
// `prev` (nullptr: since each device started). Per volume, each queue and their total:
// counts in the interval (or since start), per-second rates when there is an interval, latency
// percentiles (p50, p99, p99.9, ns) of the requests completed in it, refused requests, parked
// ones now. A queue whose counters went backwards (its device restarted) counts from 0.
nlohmann::ordered_json StatsReport(const nlohmann::json* prev, const nlohmann::json& now);
// The report as blkgatectl --json prints it: one line, "result" and "message" first, then the
// report's members in their order (the total before the queues).
std::string StatsJsonLine(const nlohmann::ordered_json& report);
// The report as an iostat -x style table.
std::string StatsTable(const nlohmann::ordered_json& report);
// The sample in Prometheus' text exposition format (version 0.0.4): counters per volume and
// queue, the latency histograms per volume and op, for node_exporter's textfile collector.
std::string PrometheusText(const nlohmann::json& sample);
// One event message ({"type": "state"|"lost", ...}) as a line of text, or of JSON with json.
std::string EventLine(const nlohmann::json& event, bool json);

// Runs `monitor` (subscribe, then print events until --count or the end) or `stats --watch`
// (a report every SECS seconds until --count or interrupted) and returns the exit status.
// Everything else goes through Render.
bool IsLive(const Invocation& inv);
int RunLive(const Invocation& inv, const std::string& socket);

}  // namespace blkgate::ctl
