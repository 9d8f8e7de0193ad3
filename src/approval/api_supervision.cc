// The supervision routes of the approval API: 电子监察 alerts (list, counts,
// acknowledge) for 监察 users, and statistics (JSON, CSV and .xlsx) for 监察
// users over every org and for 事项管理 users over their own orgs.
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "approval/api_internal.h"
#include "approval/model.h"
#include "approval/statistics.h"
#include "approval/supervision.h"
#include "codec/parse.h"

namespace tongban::approval {
namespace {

Status RequireSupervisor(const Call& call) {
  if (call.actor.kind == Actor::Kind::kStaff && call.actor.HasRole(kRoleSupervise)) {
    return Status::Ok();
  }
  return Error::PermissionDenied("电子监察 needs the approval role 'supervise' (监察)");
}

Result<Supervision*> SupervisionOf(const Services& services) {
  if (services.supervision == nullptr) return Error::Unavailable("supervision is not configured");
  return services.supervision;
}

Result<int64_t> ParseCount(std::string_view text, std::string_view name) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Error::InvalidArgument(std::string(name) + ": a non-negative integer expected");
  }
  return value;
}

// A bound of a period: milliseconds since the epoch, or a CST day
// ("2026-03-01" / "20260301"). A day as `to` includes that day. Bounds outside
// [Statistics::kEarliestMs, kLatestMs] (1990-01-01..2100-01-01 CST) are refused.
Result<int64_t> ParseBound(const Call& call, std::string_view name, bool upper) {
  std::string_view text = call.Query(name);
  if (text.empty()) return int64_t{0};
  const bool digits = text.find_first_not_of("0123456789") == std::string_view::npos;
  int64_t ms = 0;
  if (digits && text.size() > 8) {
    auto count = ParseCount(text, name);
    if (!count.ok()) return count;
    ms = *count;
  } else {
    auto day = ParseDay(text);
    if (!day.ok()) {
      return Error::InvalidArgument(std::string(name) +
                                    ": a date (2026-03-01) or milliseconds expected");
    }
    ms = upper ? StartOfDay(*day + std::chrono::days(1)) : StartOfDay(*day);
  }
  if (ms < Statistics::kEarliestMs || ms > Statistics::kLatestMs) {
    return Error::InvalidArgument(std::string(name) + ": 日期须在 1990-01-01 至 2100-01-01 之间");
  }
  return ms;
}

Status ReadPeriod(const Call& call, int64_t& from_ms, int64_t& to_ms) {
  auto from = ParseBound(call, "from", false);
  if (!from.ok()) return std::move(from).error();
  auto to = ParseBound(call, "to", true);
  if (!to.ok()) return std::move(to).error();
  if (*from > 0 && *to > 0 && *to <= *from) {
    return Error::InvalidArgument("to: must be after from");
  }
  from_ms = *from;
  to_ms = *to;
  return Status::Ok();
}

codec::Value AlertJson(const Alert& a) {
  codec::Value v = codec::Value::Object(12);
  v.AppendNew("id", a.id);
  v.AppendNew("case_id", a.case_id);
  v.AppendNew("case_number", a.case_number);
  v.AppendNew("orgcoding", a.orgcoding);
  v.AppendNew("implement_code", a.implement_code);
  v.AppendNew("kind", AlertKindName(a.kind));
  v.AppendNew("step_code", a.step_code);
  auto detail = codec::ParseJson(a.detail);
  v.AppendNew("detail", detail.ok() ? std::move(*detail) : codec::Value(a.detail));
  v.AppendNew("raised_at", a.raised_at_ms);
  v.AppendNew("acknowledged_by", a.acknowledged_by);
  v.AppendNew("acknowledged_at", a.acknowledged_at_ms);
  return v;
}

Result<codec::Value> ListAlerts(const Services& services, Call& call) {
  TB_RETURN_IF_ERROR(RequireSupervisor(call));
  auto supervision = SupervisionOf(services);
  if (!supervision.ok()) return std::move(supervision).error();
  AlertFilter filter;
  if (auto org = call.Query("org"); !org.empty()) filter.orgs.emplace_back(org);
  if (auto kind = call.Query("kind"); !kind.empty()) {
    filter.kind = ParseAlertKind(kind);
    if (!filter.kind) return Error::InvalidArgument("kind: unknown alert kind");
  }
  TB_RETURN_IF_ERROR(ReadPeriod(call, filter.from_ms, filter.to_ms));
  if (auto ack = call.Query("acknowledged"); !ack.empty()) {
    if (ack != "true" && ack != "false") {
      return Error::InvalidArgument("acknowledged: true or false expected");
    }
    filter.acknowledged = ack == "true";
  }
  if (auto offset = call.Query("offset"); !offset.empty()) {
    auto n = ParseCount(offset, "offset");
    if (!n.ok()) return std::move(n).error();
    filter.offset = *n;
  }
  if (auto limit = call.Query("limit"); !limit.empty()) {
    auto n = ParseCount(limit, "limit");
    if (!n.ok()) return std::move(n).error();
    filter.limit = *n;
  }
  auto page = (*supervision)->List(filter);
  if (!page.ok()) return std::move(page).error();
  codec::Value out = codec::Value::Object();
  out.Set("total", page->total);
  codec::Value& alerts = out.Add("alerts", codec::Value::Array(page->alerts.size()));
  for (const Alert& a : page->alerts) alerts.Push(AlertJson(a));
  return out;
}

Result<codec::Value> AcknowledgeAlert(const Services& services, Call& call) {
  TB_RETURN_IF_ERROR(RequireSupervisor(call));
  auto supervision = SupervisionOf(services);
  if (!supervision.ok()) return std::move(supervision).error();
  if (call.args.empty()) return Error::InvalidArgument("id: missing");
  auto id = ParseCount(call.args[0], "id");
  if (!id.ok()) return std::move(id).error();
  auto alert = (*supervision)->Acknowledge(*id, call.actor.userid, services.sso.clock.NowMillis());
  if (!alert.ok()) return std::move(alert).error();
  return AlertJson(*alert);
}

Result<codec::Value> AlertCounts(const Services& services, Call& call) {
  TB_RETURN_IF_ERROR(RequireSupervisor(call));
  auto supervision = SupervisionOf(services);
  if (!supervision.ok()) return std::move(supervision).error();
  int64_t from = 0, to = 0;
  TB_RETURN_IF_ERROR(ReadPeriod(call, from, to));
  auto counts = (*supervision)->CountsByOrg(from, to);
  if (!counts.ok()) return std::move(counts).error();
  codec::Value out = codec::Value::Object();
  codec::Value& orgs = out.Add("orgs", codec::Value::Array(counts->size()));
  for (const OrgAlertCounts& c : *counts) {
    codec::Value row = codec::Value::Object(8);
    row.AppendNew("orgcoding", c.orgcoding);
    row.AppendNew("total", c.total);
    row.AppendNew("unacknowledged", c.unacknowledged);
    row.AppendNew("overdue_case", c.overdue_case);
    row.AppendNew("overdue_step", c.overdue_step);
    row.AppendNew("refusal_without_reason", c.refusal_without_reason);
    row.AppendNew("late_acceptance", c.late_acceptance);
    row.AppendNew("late_completion", c.late_completion);
    orgs.Push(std::move(row));
  }
  return out;
}

// The statistics query of a call. 监察 users see every org; 事项管理 users only
// the orgs they belong to (an `org` outside them is refused, not emptied).
Result<StatisticsQuery> ReadStatisticsQuery(const Call& call) {
  const bool supervisor =
      call.actor.kind == Actor::Kind::kStaff && call.actor.HasRole(kRoleSupervise);
  const bool matter_admin =
      call.actor.kind == Actor::Kind::kStaff && call.actor.HasRole(kRoleMatterAdmin);
  if (!supervisor && !matter_admin) {
    return Error::PermissionDenied(
        "statistics need the approval role 'supervise' (监察) or 'matters' (事项管理)");
  }
  StatisticsQuery query;
  std::string_view group = call.Query("group");
  if (group.empty() || group == "org") {
    query.by = StatisticsDimension::kOrg;
  } else if (group == "matter") {
    query.by = StatisticsDimension::kMatter;
  } else if (group == "month" || group == "day") {
    query.by = StatisticsDimension::kNone;
  } else {
    return Error::InvalidArgument("group: org, matter, day or month expected");
  }
  std::string_view period = group == "month" || group == "day" ? group : call.Query("period");
  if (period == "month") {
    query.period = StatisticsPeriod::kMonth;
  } else if (period == "day") {
    query.period = StatisticsPeriod::kDay;
  } else if (!period.empty()) {
    return Error::InvalidArgument("period: day or month expected");
  }
  TB_RETURN_IF_ERROR(ReadPeriod(call, query.from_ms, query.to_ms));
  if (query.period == StatisticsPeriod::kDay && (query.from_ms == 0 || query.to_ms == 0)) {
    return Error::InvalidArgument("from, to: required for daily statistics");
  }
  query.implement_code = std::string(call.Query("matter"));
  std::string org(call.Query("org"));
  if (!supervisor) {
    if (!org.empty() && !call.actor.InOrg(org)) {
      return Error::PermissionDenied("statistics of another org need the role 'supervise' (监察)");
    }
    if (org.empty()) {
      query.orgs = call.actor.orgs;
      if (query.orgs.empty()) return Error::PermissionDenied("the user belongs to no org");
    }
  }
  if (!org.empty()) query.orgs = {org};
  return query;
}

codec::Value StatisticsJson(const StatisticsRow& r) {
  codec::Value v = codec::Value::Object(18);
  v.AppendNew("orgcoding", r.orgcoding);
  v.AppendNew("implement_code", r.implement_code);
  v.AppendNew("matter_name", r.matter_name);
  v.AppendNew("period", r.period);
  v.AppendNew("received", r.received);
  v.AppendNew("accepted", r.accepted);
  v.AppendNew("refused", r.refused);
  v.AppendNew("completed", r.completed);
  v.AppendNew("completed_with_deadline", r.completed_with_deadline);
  v.AppendNew("completed_on_time", r.completed_on_time);
  auto rate = r.on_time_rate();
  v.AppendNew("on_time_rate", rate ? codec::Value(*rate) : codec::Value());
  v.AppendNew("handled", r.handled);
  v.AppendNew("handling_working_days", r.handling_working_days);
  auto average = r.average_handling_days();
  v.AppendNew("average_handling_days", average ? codec::Value(*average) : codec::Value());
  v.AppendNew("corrections", r.corrections);
  v.AppendNew("ratings", r.ratings);
  auto rating = r.average_rating();
  v.AppendNew("average_rating", rating ? codec::Value(*rating) : codec::Value());
  return v;
}

Result<codec::Value> GetStatistics(const Services& services, Call& call) {
  auto query = ReadStatisticsQuery(call);
  if (!query.ok()) return std::move(query).error();
  if (services.statistics == nullptr) return Error::Unavailable("statistics are not configured");
  auto rows = services.statistics->Compute(*query);
  if (!rows.ok()) return std::move(rows).error();
  codec::Value out = codec::Value::Object();
  codec::Value& list = out.Add("rows", codec::Value::Array(rows->size()));
  for (const StatisticsRow& r : *rows) list.Push(StatisticsJson(r));
  return out;
}

// The statistics as a download: `xlsx` true for the workbook, false for CSV.
Result<codec::Value> DownloadStatistics(const Services& services, Call& call, bool xlsx) {
  auto query = ReadStatisticsQuery(call);
  if (!query.ok()) return std::move(query).error();
  if (services.statistics == nullptr) return Error::Unavailable("statistics are not configured");
  auto bytes =
      xlsx ? services.statistics->ExportXlsx(*query) : services.statistics->ExportCsv(*query);
  if (!bytes.ok()) return std::move(bytes).error();
  call.response.set_status(200);
  call.response.set_content_type(
      xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
           : "text/csv;charset=utf-8");
  call.response.AddHeader("Content-Disposition", xlsx ? "attachment; filename=\"statistics.xlsx\""
                                                      : "attachment; filename=\"statistics.csv\"");
  call.response.set_body(std::move(*bytes));
  call.wrote_response = true;
  return codec::Value();
}

}  // namespace

void AddSupervisionRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "alerts", Access::kStaff, ListAlerts});
  routes.push_back({"GET", "alerts/counts", Access::kStaff, AlertCounts});
  routes.push_back({"POST", "alerts/:id/ack", Access::kStaff, AcknowledgeAlert});
  routes.push_back({"GET", "statistics", Access::kStaff, GetStatistics});
  routes.push_back({"GET", "statistics.xlsx", Access::kStaff,
                    [](const Services& s, Call& c) { return DownloadStatistics(s, c, true); }});
  routes.push_back({"GET", "statistics.csv", Access::kStaff,
                    [](const Services& s, Call& c) { return DownloadStatistics(s, c, false); }});
}

}  // namespace tongban::approval
