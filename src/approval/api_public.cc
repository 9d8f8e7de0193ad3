// Approval API for the public hall (no login): the matter guide of enabled
// matters, progress lookup by case number + lookup password, and the one
// 好差评 rating of a completed case (level and the five online indicators), and
// the download of material templates (the files an enabled matter names as
// templates, nothing else). Lookups are throttled per client address
// (failures counted in the TicketStore, so every node sees them).
// docs/api/approval.md "Public hall".
#include <algorithm>
#include <string>

#include "approval/api_internal.h"
#include "approval/preferences.h"

namespace tongban::approval {

namespace {

// The guide shows what an applicant needs, not the internal step roles.
codec::Value GuideJson(const Matter& m) {
  codec::Value v = MatterJson(m);
  v.Erase("steps");
  v.Erase("updated_at");
  codec::Value steps = codec::Value::Array(m.steps.size());
  for (const MatterStep& step : m.steps) steps.Push(step.name);
  v.Set("step_names", std::move(steps));
  return v;
}

Result<codec::Value> ListGuide(const Services& s, Call& call) {
  auto paging = PagingFrom(call);
  if (!paging.ok()) return paging.error();
  MatterFilter filter;
  filter.enabled_only = true;
  filter.orgcoding = std::string(call.Query("org"));
  filter.text = std::string(call.Query("q"));
  filter.offset = paging->offset;
  filter.limit = paging->limit;
  int64_t total = 0;
  auto matters = s.matters.List(filter, &total);
  if (!matters.ok()) return matters.error();
  codec::Value items = codec::Value::Array(matters->size());
  for (const Matter& m : *matters) items.Push(GuideJson(m));
  return ListOf(total, std::move(items));
}

Result<codec::Value> GetGuide(const Services& s, Call& call) {
  auto matter = s.matters.Latest(call.args[0]);
  if (!matter.ok() || !matter->enabled) {
    if (!matter.ok() && matter.error().code != errc::kNotFound) return matter.error();
    return Error{code::kMatterUnknown, "事项不存在或已停用"};
  }
  return GuideJson(*matter);
}

std::string LockoutMessage(std::chrono::seconds remaining) {
  const int64_t minutes = std::max<int64_t>(1, (remaining.count() + 59) / 60);
  return "查询失败次数过多，请 " + std::to_string(minutes) + " 分钟后再试";
}

// The case when number and password match, counting failures per address.
Result<Case> CheckedLookup(const Services& s, const Call& call) {
  if (!call.body.IsObject())
    return Error::InvalidArgument("请求体应为 JSON 对象 {number, password}");
  auto number = TextMember(call.body, "number");
  auto password = TextMember(call.body, "password");
  if (!number.ok()) return number.error();
  if (!password.ok()) return password.error();
  if (number->empty() || password->empty()) {
    return Error::InvalidArgument("请填写办件编号和查询密码");
  }
  const auto source = sso::LoginSource::Ip(call.request.remote_ip());
  // The case number is the "account": an address is locked out after the
  // configured failures over any numbers, and a number guessed at from many
  // addresses slows its unfamiliar ones down (throttle.h).
  const std::string kAccount = "approval-lookup:" + *number;
  if (s.lookup_throttle != nullptr) {
    auto lockout = s.lookup_throttle->Check(kAccount, source);
    if (!lockout.ok()) return lockout.error();
    if (*lockout) return ApiError(api_code::kThrottled, LockoutMessage((*lockout)->remaining));
  }
  const bool shaped = number->size() == 43 && password->size() == 6;
  auto found = shaped ? s.engine.Lookup(*number, *password)
                      : Result<Case>(Error{code::kLookupFailed, "办件编号或查询密码不正确"});
  if (!found.ok()) {
    const int c = found.error().code;
    if (c != code::kLookupFailed && c != code::kCaseUnknown) return found.error();
    if (s.lookup_throttle != nullptr) {
      // This attempt is answered as what it was; a lockout it starts stops the next.
      auto lockout = s.lookup_throttle->RecordFailure(kAccount, source);
      if (!lockout.ok()) return lockout.error();
    }
    return Error{code::kLookupFailed, "办件编号或查询密码不正确"};
  }
  if (s.lookup_throttle != nullptr) {
    TB_RETURN_IF_ERROR(s.lookup_throttle->RecordSuccess(kAccount, source));
  }
  return found;
}

// {"overall": 5, ...}: every indicator, null when not given.
codec::Value IndicatorsJson(const RatingIndicators& indicators) {
  codec::Value v = codec::Value::Object(RatingIndicators::kNames.size());
  for (size_t i = 0; i < RatingIndicators::kNames.size(); ++i) {
    const int value = indicators.Get(i);
    v.Set(RatingIndicators::kNames[i], value == 0 ? codec::Value() : codec::Value(value));
  }
  return v;
}

codec::Value RatingJson(const Rating& rating) {
  codec::Value v = codec::Value::Object(3);
  v.Set("level", rating.level)
      .Set("comment", rating.comment)
      .Set("indicators", IndicatorsJson(rating.indicators));
  return v;
}

// The body's "indicators": an object of the five known names, each an integer
// 1..5; absent or null = none given. Anything else is refused, naming the key.
Result<RatingIndicators> IndicatorsFromJson(const codec::Value* v) {
  RatingIndicators out;
  if (v == nullptr || v->IsNull()) return out;
  if (!v->IsObject()) {
    return Error::InvalidArgument(
        "indicators 应为对象 {overall, efficiency, guide_accuracy, convenience, usability}");
  }
  for (const codec::Member& member : v->members()) {
    const auto* name = std::find(RatingIndicators::kNames.begin(), RatingIndicators::kNames.end(),
                                 member.key);
    if (name == RatingIndicators::kNames.end()) {
      return Error::InvalidArgument("indicators 中有未知的评价指标：" + member.key.substr(0, 40));
    }
    const codec::Value& value = member.value;
    if (value.IsNull()) continue;
    if (!value.IsInteger() || value.AsInteger() < 1 || value.AsInteger() > 5) {
      return Error::InvalidArgument("评价指标 " + member.key + " 应为 1 到 5 的整数");
    }
    out.Set(static_cast<size_t>(name - RatingIndicators::kNames.begin()),
            static_cast<int>(value.AsInteger()));
  }
  return out;
}

// What an applicant sees of their case: progress, not the staff's identities.
codec::Value PublicCaseJson(const Services& s, const Case& c,
                            const std::vector<StepRecord>& history,
                            const std::optional<Rating>& rating) {
  const int64_t now = s.sso.clock.NowMillis();
  codec::Value steps = codec::Value::Array(history.size());
  for (const StepRecord& r : history) {
    if (r.action == Action::kRecompute) continue;
    codec::Value v = codec::Value::Object(4);
    v.Set("action", ActionName(r.action))
        .Set("step_name", r.step_name)
        .Set("at", r.at_ms)
        .Set("at_text", FormatTime(r.at_ms));
    steps.Push(std::move(v));
  }
  codec::Value v = codec::Value::Object(14);
  v.Set("number", c.number)
      .Set("matter_name", c.matter_name)
      .Set("applicant_name", c.applicant.name)
      .Set("state", CaseStateName(c.state))
      .Set("registered_at", c.registered_at_ms)
      .Set("accepted_at", c.accepted_at_ms)
      .Set("completed_at", c.completed_at_ms)
      .Set("deadline", c.deadline_ms)
      .Set("deadline_text", FormatTime(c.deadline_ms))
      .Set("result", c.result ? codec::Value(static_cast<int>(*c.result)) : codec::Value())
      .Set("result_reason", c.result_reason)
      .Set("case_light", LightName(s.engine.CaseLight(c, now)))
      .Set("history", std::move(steps));
  if (rating) {
    v.Set("rating", RatingJson(*rating));
  } else {
    v.Set("rating", codec::Value());
  }
  return v;
}

Result<codec::Value> Lookup(const Services& s, Call& call) {
  auto c = CheckedLookup(s, call);
  if (!c.ok()) return c.error();
  auto history = s.engine.History(c->number);
  if (!history.ok()) return history.error();
  std::optional<Rating> rating;
  if (s.preferences != nullptr) {
    auto r = s.preferences->RatingOf(c->number);
    if (!r.ok()) return r.error();
    rating = std::move(*r);
  }
  return PublicCaseJson(s, *c, *history, rating);
}

Result<codec::Value> Rate(const Services& s, Call& call) {
  if (s.preferences == nullptr) return Error::Unavailable("评价服务未启用");
  auto c = CheckedLookup(s, call);
  if (!c.ok()) return c.error();
  if (c->state != CaseState::kCompleted) {
    return Error{code::kWrongState, "办件办结后才能评价"};
  }
  const codec::Value* level = call.body.Find("level");
  if (level == nullptr || !level->IsInteger() || level->AsInteger() < 1 || level->AsInteger() > 5) {
    return Error::InvalidArgument("level（评价等级）应为 1 到 5 的整数");
  }
  auto comment = TextMember(call.body, "comment");
  if (!comment.ok()) return comment.error();
  auto indicators = IndicatorsFromJson(call.body.Find("indicators"));
  if (!indicators.ok()) return indicators.error();
  Rating rating;
  rating.case_number = c->number;
  rating.level = static_cast<int>(level->AsInteger());
  rating.comment = *comment;
  rating.indicators = *indicators;
  TB_RETURN_IF_ERROR(s.preferences->Rate(rating));
  codec::Value out = RatingJson(rating);
  out.Set("number", c->number);
  return out;
}

// GET public/files/:sha256 — a material template of an enabled matter, to
// anyone. Every other stored file (case materials, attachments) answers 404,
// exactly as an absent one, so the hall can never be used to read them.
Result<codec::Value> Template(const Services& s, Call& call) {
  const std::string& sha = call.args[0];
  if (!IsSha256Hex(sha)) return Error::InvalidArgument("文件标识应为 64 位小写十六进制 SHA-256");
  auto named = s.matters.IsEnabledTemplate(sha);
  if (!named.ok()) return named.error();
  if (!*named) return Error::NotFound("文件不存在");
  return WriteStoredFile(s, call, sha);
}

}  // namespace

void AddPublicRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "public/matters", Access::kPublic, ListGuide});
  routes.push_back({"GET", "public/matters/:code", Access::kPublic, GetGuide});
  routes.push_back({"POST", "public/lookup", Access::kPublic, Lookup});
  routes.push_back({"POST", "public/rating", Access::kPublic, Rate});
  routes.push_back({"GET", "public/files/:sha256", Access::kPublic, Template});
}

}  // namespace tongban::approval
