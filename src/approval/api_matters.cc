// Approval API: the matter catalogue (事项: list, versions, edit, enable,
// CSV/xlsx import and export) and the working calendar of each division
// (list, set a day, clear a day, CSV import). A calendar change recomputes
// the deadlines of the division's running cases. docs/api/approval.md.
#include <algorithm>
#include <set>
#include <sstream>
#include <string>

#include "approval/api_internal.h"
#include "approval/preferences.h"

namespace tongban::approval {

namespace {

Result<Matter> KnownMatter(const Services& s, std::string_view code) {
  auto matter = s.matters.Latest(code);
  if (!matter.ok() && matter.error().code == errc::kNotFound) {
    return Error{code::kMatterUnknown, "事项不存在：" + std::string(code)};
  }
  return matter;
}

Result<codec::Value> ListMatters(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  MatterFilter filter;
  filter.orgcoding = std::string(call.Query("org"));
  filter.text = std::string(call.Query("q"));
  const bool for_intake = call.Query("for_intake") == "1";
  filter.enabled_only = for_intake || call.Query("enabled") == "1";
  std::set<std::string> hidden;
  if (for_intake && s.preferences != nullptr) {
    auto codes = s.preferences->HiddenMatters(call.actor.userid);
    if (!codes.ok()) return codes.error();
    hidden.insert(codes->begin(), codes->end());
  }
  int64_t total = 0;
  if (hidden.empty()) {
    filter.offset = paging->offset;
    filter.limit = paging->limit;
    auto matters = s.matters.List(filter, &total);
    if (!matters.ok()) return matters.error();
    codec::Value items = codec::Value::Array(matters->size());
    for (const Matter& m : *matters) items.Push(MatterJson(m));
    return ListOf(total, std::move(items));
  }
  // The intake list without the user's hidden matters: filtered here, paged
  // after, reading the catalogue a thousand matters at a time.
  codec::Value items = codec::Value::Array();
  int64_t shown = 0;
  filter.limit = 1000;
  for (filter.offset = 0;; filter.offset += filter.limit) {
    auto matters = s.matters.List(filter, &total);
    if (!matters.ok()) return matters.error();
    for (const Matter& m : *matters) {
      if (hidden.count(m.implement_code)) continue;
      if (shown >= paging->offset && shown < paging->offset + paging->limit) {
        items.Push(MatterJson(m));
      }
      ++shown;
    }
    if (static_cast<int64_t>(matters->size()) < filter.limit) break;
  }
  return ListOf(shown, std::move(items));
}

Result<codec::Value> GetMatter(const Services& s, Call& call) {
  auto matter = KnownMatter(s, call.args[0]);
  if (!matter.ok()) return matter.error();
  return MatterJson(*matter);
}

Result<codec::Value> GetMatterVersion(const Services& s, Call& call) {
  int64_t version = 0;
  if (!ParseInteger(call.args[1], &version) || version < 1 || version > 1'000'000) {
    return Error::InvalidArgument("版本号应为正整数");
  }
  auto matter = s.matters.Version(call.args[0], static_cast<int>(version));
  if (!matter.ok()) {
    if (matter.error().code == errc::kNotFound) {
      return Error{code::kMatterUnknown, "事项或该版本不存在"};
    }
    return matter.error();
  }
  return MatterJson(**matter);
}

// What a save of `matter` needs besides the checks of its fields: the
// 事项管理 role in its org and, when it replaces a matter, in that one's org
// too; and each material template a file the actor may reference — or one
// the matter already had (another admin of the org uploaded it).
Status RequireMatterRights(const Services& s, const Actor& actor, const Matter& matter,
                           const Matter* existing) {
  TB_RETURN_IF_ERROR(RequireMatterAdmin(actor, matter.orgcoding));
  if (existing != nullptr) TB_RETURN_IF_ERROR(RequireMatterAdmin(actor, existing->orgcoding));
  // A step handled by another org puts the matter's cases into that org's
  // 待办: its saver must hold 事项管理 there too, unless the org is under the
  // matter's own (by orgcoding prefix) or the matter already named it
  // (review13: a 事项管理 of one department could fill another's 待办).
  for (const MatterStep& step : matter.steps) {
    if (step.org.empty() || step.org.starts_with(matter.orgcoding)) continue;
    const bool kept = existing != nullptr &&
                      std::any_of(existing->steps.begin(), existing->steps.end(),
                                  [&](const MatterStep& e) { return e.org == step.org; });
    if (kept) continue;
    if (!(actor.HasRole(kRoleMatterAdmin) && actor.InOrg(step.org))) {
      return Error::PermissionDenied("环节「" + step.name + "」由机构 " + step.org +
                                     " 办理：需要该机构的事项管理角色");
    }
  }
  for (const MatterMaterial& m : matter.materials) {
    if (m.template_sha256.empty()) continue;
    auto same = [&](const MatterMaterial& e) { return e.template_sha256 == m.template_sha256; };
    const bool kept = existing != nullptr && std::any_of(existing->materials.begin(),
                                                         existing->materials.end(), same);
    if (!kept) {
      TB_RETURN_IF_ERROR(
          RequireReferableFile(s, actor, m.template_sha256, "材料「" + m.name + "」的模板文件"));
    }
  }
  return Status::Ok();
}

Result<codec::Value> SaveMatter(const Services& s, Call& call, bool create) {
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  auto matter = MatterFromJson(call.body);
  if (!matter.ok()) return matter.error();
  if (!create && matter->implement_code != call.args[0]) {
    return Error::InvalidArgument("请求体的 implement_code 应与路径一致");
  }
  TB_RETURN_IF_ERROR(RequireMatterAdmin(call.actor, matter->orgcoding));
  auto existing = s.matters.Latest(matter->implement_code);
  if (create && existing.ok()) {
    return Error::AlreadyExists("事项已存在：" + matter->implement_code + "（修改请用 PUT）");
  }
  if (!create) {
    if (!existing.ok()) {
      if (existing.error().code == errc::kNotFound) {
        return Error{code::kMatterUnknown, "事项不存在：" + call.args[0]};
      }
      return existing.error();
    }
  }
  // Moving a matter to another org needs the right in both.
  TB_RETURN_IF_ERROR(
      RequireMatterRights(s, call.actor, *matter, existing.ok() ? &*existing : nullptr));
  auto saved = s.matters.Save(std::move(*matter));
  if (!saved.ok()) return saved.error();
  return MatterJson(*saved);
}

Result<codec::Value> SetMatterEnabled(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  const codec::Value* enabled = call.body.Find("enabled");
  if (enabled == nullptr || !enabled->IsBool()) {
    return Error::InvalidArgument("enabled 应为 true 或 false");
  }
  auto matter = KnownMatter(s, call.args[0]);
  if (!matter.ok()) return matter.error();
  TB_RETURN_IF_ERROR(RequireMatterAdmin(call.actor, matter->orgcoding));
  TB_RETURN_IF_ERROR(s.matters.SetEnabled(call.args[0], enabled->AsBool()));
  return GetMatter(s, call);
}

// Export covers every org's matters (a 事项管理 or 监察 user); an import
// writes only what the caller may save one by one: each row is checked as a
// POST or PUT would be (its org, the org of the matter it replaces, its
// templates), and one refused row refuses the whole import, naming the row.
Result<codec::Value> ImportMatters(const Services& s, Call& call) {
  if (!call.actor.HasRole(kRoleMatterAdmin)) {
    return Error::PermissionDenied("导入事项需要事项管理角色");
  }
  std::string_view body = call.request.body();
  if (body.empty()) return Error::InvalidArgument("请求体为空：请上传 CSV 或 .xlsx 文件");
  auto check = [&](const Matter& row) -> Status {
    auto existing = s.matters.Latest(row.implement_code);
    if (!existing.ok() && existing.error().code != errc::kNotFound) return existing.error();
    return RequireMatterRights(s, call.actor, row, existing.ok() ? &*existing : nullptr);
  };
  Result<int64_t> saved = int64_t{0};
  if (body.starts_with("PK")) {
    saved = s.matters.ImportXlsx(body, check);
  } else {
    std::istringstream in{std::string(body)};
    saved = s.matters.ImportCsv(in, check);
  }
  if (!saved.ok()) return saved.error();
  return codec::Value::Object(1).Set("saved", *saved);
}

Result<codec::Value> ExportMatters(const Services& s, Call& call, bool xlsx) {
  if (!call.actor.HasRole(kRoleMatterAdmin) && !call.actor.HasRole(kRoleSupervise)) {
    return Error::PermissionDenied("导出事项需要事项管理或监察角色");
  }
  if (xlsx) {
    auto book = s.matters.ExportXlsx();
    if (!book.ok()) return book.error();
    call.response.set_status(200);
    call.response.set_content_type(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    call.response.AddHeader("Content-Disposition", "attachment; filename=\"matters.xlsx\"");
    call.response.set_body(std::move(*book));
  } else {
    std::ostringstream out;
    TB_RETURN_IF_ERROR(s.matters.ExportCsv(out));
    call.response.set_status(200);
    call.response.set_content_type("text/csv;charset=utf-8");
    call.response.AddHeader("Content-Disposition", "attachment; filename=\"matters.csv\"");
    call.response.set_body(out.str());
  }
  call.wrote_response = true;
  return codec::Value();
}

// ---- the working calendar ----

// The path names the default calendar "default" (its division code is "").
Result<std::string> DivisionOf(std::string_view segment) {
  if (segment == "default") return std::string();
  if (!CheckDivisionCode(segment).ok()) {
    return Error::InvalidArgument("行政区划代码应为 6 位或 12 位数字，或 default（默认日历）");
  }
  return std::string(segment);
}

// Who edits a calendar (docs/api/approval.md "Working calendar"): a platform
// administrator any, the default ("") included; a 事项管理 holder the calendar
// of a division that a matter of one of their orgs is in (the divisions whose
// deadlines their matters follow), not the default every division inherits.
Status RequireCalendarAdmin(const Services& s, const Actor& actor, std::string_view division) {
  auto platform = s.sso.directory.IsPlatformAdmin(actor.userid);
  if (!platform.ok()) return platform.error();
  if (*platform) return Status::Ok();
  if (!actor.HasRole(kRoleMatterAdmin)) {
    return Error::PermissionDenied("维护工作日历需要事项管理角色");
  }
  const std::string shown = division.empty() ? std::string("默认日历") : std::string(division);
  if (!division.empty()) {
    for (const std::string& org : actor.orgs) {
      MatterFilter filter;
      filter.orgcoding = org;
      filter.limit = 500;
      while (true) {
        auto page = s.matters.List(filter);
        if (!page.ok()) return page.error();
        for (const Matter& m : *page) {
          if (m.division == division) return Status::Ok();
        }
        if (static_cast<int64_t>(page->size()) < filter.limit) break;
        filter.offset += filter.limit;
      }
    }
  }
  return Error::PermissionDenied("无权维护" + shown +
                                 "：事项管理只能维护本机构事项所在行政区划的日历，"
                                 "默认日历由平台管理员维护");
}

// The running cases' deadlines follow the calendar (approval.md).
Result<int64_t> Recompute(const Services& s, const std::vector<std::string>& divisions) {
  int64_t moved = 0;
  for (const std::string& division : divisions) {
    auto n = s.engine.RecomputeDeadlines(division);
    if (!n.ok()) return n.error();
    moved += *n;
  }
  return moved;
}

codec::Value EntryJson(const CalendarEntry& e) {
  codec::Value v = codec::Value::Object(4);
  v.Set("division", e.division)
      .Set("day", FormatDay(e.day))
      .Set("kind", e.kind == DayKind::kHoliday ? "holiday" : "workday")
      .Set("note", e.note);
  return v;
}

Result<codec::Value> ListCalendar(const Services& s, Call& call) {
  auto division = DivisionOf(call.args[0]);
  if (!division.ok()) return division.error();
  std::string_view from_text = call.Query("from");
  std::string_view to_text = call.Query("to");
  if (from_text.empty() || to_text.empty()) {
    return Error::InvalidArgument("请给出 from 和 to（yyyy-MM-dd）");
  }
  auto from = ParseDay(from_text);
  auto to = ParseDay(to_text);
  if (!from.ok() || !to.ok()) return Error::InvalidArgument("日期格式应为 yyyy-MM-dd");
  if (*to < *from || *to - *from > std::chrono::days(3660)) {
    return Error::InvalidArgument("日期范围应从 from 到 to，最长 10 年");
  }
  auto entries = s.calendars.List(*division, *from, *to);
  if (!entries.ok()) return entries.error();
  codec::Value items = codec::Value::Array(entries->size());
  for (const CalendarEntry& e : *entries) items.Push(EntryJson(e));
  return ListOf(static_cast<int64_t>(entries->size()), std::move(items));
}

Result<codec::Value> PutCalendarDay(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  auto division = DivisionOf(call.args[0]);
  if (!division.ok()) return division.error();
  TB_RETURN_IF_ERROR(RequireCalendarAdmin(s, call.actor, *division));
  auto day = ParseDay(call.args[1]);
  if (!day.ok()) return Error::InvalidArgument("日期格式应为 yyyy-MM-dd");
  CalendarEntry entry;
  entry.division = *division;
  entry.day = *day;
  auto kind = TextMember(call.body, "kind");
  if (!kind.ok()) return kind.error();
  if (*kind == "holiday" || *kind == "休") {
    entry.kind = DayKind::kHoliday;
  } else if (*kind == "workday" || *kind == "班") {
    entry.kind = DayKind::kWorkday;
  } else {
    return Error::InvalidArgument("kind 应为 holiday（休）或 workday（班）");
  }
  auto note = TextMember(call.body, "note");
  if (!note.ok()) return note.error();
  entry.note = *note;
  TB_RETURN_IF_ERROR(s.calendars.Put(entry));
  auto moved = Recompute(s, {entry.division});
  if (!moved.ok()) return moved.error();
  codec::Value out = EntryJson(entry);
  out.Set("recomputed_cases", *moved);
  return out;
}

Result<codec::Value> DeleteCalendarDay(const Services& s, Call& call) {
  auto division = DivisionOf(call.args[0]);
  if (!division.ok()) return division.error();
  TB_RETURN_IF_ERROR(RequireCalendarAdmin(s, call.actor, *division));
  auto day = ParseDay(call.args[1]);
  if (!day.ok()) return Error::InvalidArgument("日期格式应为 yyyy-MM-dd");
  TB_RETURN_IF_ERROR(s.calendars.Remove(*division, *day));
  auto moved = Recompute(s, {*division});
  if (!moved.ok()) return moved.error();
  return codec::Value::Object(1).Set("recomputed_cases", *moved);
}

Result<codec::Value> ImportCalendar(const Services& s, Call& call) {
  if (!call.actor.HasRole(kRoleMatterAdmin)) {
    TB_RETURN_IF_ERROR(RequireCalendarAdmin(s, call.actor, ""));
  }
  if (call.request.body().empty()) return Error::InvalidArgument("请求体为空：请上传 CSV");
  std::istringstream in{std::string(call.request.body())};
  auto divisions = s.calendars.ImportCsv(in, [&](std::string_view division) {
    return RequireCalendarAdmin(s, call.actor, division);
  });
  if (!divisions.ok()) return divisions.error();
  auto moved = Recompute(s, *divisions);
  if (!moved.ok()) return moved.error();
  codec::Value out = codec::Value::Object(2);
  out.Set("divisions", StringsJson(*divisions)).Set("recomputed_cases", *moved);
  return out;
}

}  // namespace

void AddMatterRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "matters", Access::kStaff, ListMatters});
  routes.push_back({"POST", "matters", Access::kStaff,
                    [](const Services& s, Call& call) { return SaveMatter(s, call, true); }});
  routes.push_back({"POST", "matters/import", Access::kStaff, ImportMatters});
  routes.push_back({"GET", "matters/export.xlsx", Access::kStaff,
                    [](const Services& s, Call& call) { return ExportMatters(s, call, true); }});
  routes.push_back({"GET", "matters/export.csv", Access::kStaff,
                    [](const Services& s, Call& call) { return ExportMatters(s, call, false); }});
  routes.push_back({"GET", "matters/:code", Access::kStaff, GetMatter});
  routes.push_back({"PUT", "matters/:code", Access::kStaff,
                    [](const Services& s, Call& call) { return SaveMatter(s, call, false); }});
  routes.push_back({"POST", "matters/:code/enabled", Access::kStaff, SetMatterEnabled});
  routes.push_back({"GET", "matters/:code/versions/:version", Access::kStaff, GetMatterVersion});
  routes.push_back({"GET", "calendar/:division", Access::kStaff, ListCalendar});
  routes.push_back({"POST", "calendar/import", Access::kStaff, ImportCalendar});
  routes.push_back({"PUT", "calendar/:division/:day", Access::kStaff, PutCalendarDay});
  routes.push_back({"DELETE", "calendar/:division/:day", Access::kStaff, DeleteCalendarDay});
}

}  // namespace tongban::approval
