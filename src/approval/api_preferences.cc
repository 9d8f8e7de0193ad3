// Approval API: the caller's own 常用意见 (ordered common opinions) and
// 过滤事项 (hidden matters) — 个人中心 of the workbench. docs/api/approval.md.
#include "approval/api_internal.h"
#include "approval/preferences.h"

namespace tongban::approval {

namespace {

Result<Preferences*> Prefs(const Services& s) {
  if (s.preferences == nullptr) return Error::Unavailable("个人设置服务未启用");
  return s.preferences;
}

codec::Value OpinionsJson(const std::vector<Opinion>& opinions) {
  codec::Value items = codec::Value::Array(opinions.size());
  for (const Opinion& o : opinions) {
    items.Push(codec::Value::Object(2).Set("id", o.id).Set("text", o.text));
  }
  return ListOf(static_cast<int64_t>(opinions.size()), std::move(items));
}

Result<codec::Value> ListOpinions(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  auto opinions = (*prefs)->Opinions(call.actor.userid);
  if (!opinions.ok()) return opinions.error();
  return OpinionsJson(*opinions);
}

Result<codec::Value> AddOpinion(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  auto text = TextMember(call.body, "text");
  if (!text.ok()) return text.error();
  auto added = (*prefs)->AddOpinion(call.actor.userid, *text);
  if (!added.ok()) return added.error();
  return codec::Value::Object(2).Set("id", added->id).Set("text", added->text);
}

// PUT preferences/opinions/:id {text}: the caller's own opinion only; another
// user's id answers 404 as an unknown one does.
Result<codec::Value> EditOpinion(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  int64_t id = 0;
  if (!ParseInteger(call.args[0], &id) || id < 1) {
    return Error::InvalidArgument("常用意见编号应为正整数");
  }
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  auto text = TextMember(call.body, "text");
  if (!text.ok()) return text.error();
  auto updated = (*prefs)->UpdateOpinion(call.actor.userid, id, *text);
  if (!updated.ok()) return updated.error();
  return codec::Value::Object(2).Set("id", updated->id).Set("text", updated->text);
}

Result<codec::Value> DeleteOpinion(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  int64_t id = 0;
  if (!ParseInteger(call.args[0], &id) || id < 1) {
    return Error::InvalidArgument("常用意见编号应为正整数");
  }
  TB_RETURN_IF_ERROR((*prefs)->DeleteOpinion(call.actor.userid, id));
  return ListOpinions(s, call);
}

Result<codec::Value> ReorderOpinions(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  TB_RETURN_IF_ERROR(RequireObjectBody(call));
  const codec::Value* ids = call.body.Find("ids");
  if (ids == nullptr || !ids->IsArray()) return Error::InvalidArgument("ids 应为编号数组");
  std::vector<int64_t> order;
  for (const codec::Value& id : ids->items()) {
    if (!id.IsInteger()) return Error::InvalidArgument("ids 应为编号数组");
    order.push_back(id.AsInteger());
  }
  TB_RETURN_IF_ERROR((*prefs)->ReorderOpinions(call.actor.userid, order));
  return ListOpinions(s, call);
}

Result<codec::Value> ListHidden(const Services& s, Call& call) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  auto hidden = (*prefs)->HiddenMatters(call.actor.userid);
  if (!hidden.ok()) return hidden.error();
  return ListOf(static_cast<int64_t>(hidden->size()), StringsJson(*hidden));
}

Result<codec::Value> SetHidden(const Services& s, Call& call, bool hidden) {
  auto prefs = Prefs(s);
  if (!prefs.ok()) return prefs.error();
  if (hidden) {
    auto matter = s.matters.Latest(call.args[0]);
    if (!matter.ok()) {
      if (matter.error().code == errc::kNotFound) {
        return Error{code::kMatterUnknown, "事项不存在：" + call.args[0]};
      }
      return matter.error();
    }
  }
  TB_RETURN_IF_ERROR((*prefs)->SetMatterHidden(call.actor.userid, call.args[0], hidden));
  return ListHidden(s, call);
}

}  // namespace

void AddPreferenceRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "preferences/opinions", Access::kStaff, ListOpinions});
  routes.push_back({"POST", "preferences/opinions", Access::kStaff, AddOpinion});
  routes.push_back({"PUT", "preferences/opinions/order", Access::kStaff, ReorderOpinions});
  // After "order": the first pattern that matches wins.
  routes.push_back({"PUT", "preferences/opinions/:id", Access::kStaff, EditOpinion});
  routes.push_back({"DELETE", "preferences/opinions/:id", Access::kStaff, DeleteOpinion});
  routes.push_back({"GET", "preferences/hidden-matters", Access::kStaff, ListHidden});
  routes.push_back({"PUT", "preferences/hidden-matters/:code", Access::kStaff,
                    [](const Services& s, Call& call) { return SetHidden(s, call, true); }});
  routes.push_back({"DELETE", "preferences/hidden-matters/:code", Access::kStaff,
                    [](const Services& s, Call& call) { return SetHidden(s, call, false); }});
}

}  // namespace tongban::approval
