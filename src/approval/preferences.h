// Per-user preferences of the approval workbench and the public hall's
// ratings (module "approval_prefs"): 常用意见 (an ordered list of common
// opinions each staff user keeps), 过滤事项 (matters a user switched off; the
// intake list hides them) and 好差评 (one 1..5 rating per completed case).
// Used by the API (api_preferences.cc, api_public.cc).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::approval {

struct Opinion {
  int64_t id = 0;
  std::string text;
};

// The online indicators of a 好差评 (gov-domain-notes §1.5), each 1..5, 0 = not
// given (an older hall page sends none).
struct RatingIndicators {
  int overall = 0;         // 整体满意度
  int efficiency = 0;      // 办事效率
  int guide_accuracy = 0;  // 办事指南精确度
  int convenience = 0;     // 办事便捷度
  int usability = 0;       // 平台操作性

  // The API's names of the indicators, in the order above; Get/Set by that index.
  static constexpr std::array<std::string_view, 5> kNames = {
      "overall", "efficiency", "guide_accuracy", "convenience", "usability"};
  int Get(size_t i) const;
  void Set(size_t i, int value);
  bool Any() const;  // some indicator was given
};

struct Rating {
  std::string case_number;
  int level = 0;  // 1 非常不满意 .. 5 非常满意
  std::string comment;
  RatingIndicators indicators;
  int64_t at_ms = 0;
};

class Preferences {
 public:
  static std::vector<Migration> Migrations();  // module "approval_prefs"
  Preferences(SqlStore& store, Clock& clock);

  // 常用意见 in the user's order. Text: 1..500 characters; at most 100 per user.
  Result<std::vector<Opinion>> Opinions(std::string_view userid);
  Result<Opinion> AddOpinion(std::string_view userid, std::string_view text);
  // Replaces the text of one of the user's opinions, keeping its place.
  // errc::kNotFound when the user has no such opinion (another user's id too).
  Result<Opinion> UpdateOpinion(std::string_view userid, int64_t id, std::string_view text);
  // errc::kNotFound when the user has no such opinion.
  Status DeleteOpinion(std::string_view userid, int64_t id);
  // `ids` must be exactly the user's opinions, in the new order.
  Status ReorderOpinions(std::string_view userid, const std::vector<int64_t>& ids);

  // 过滤事项: the implement codes the user hid.
  Result<std::vector<std::string>> HiddenMatters(std::string_view userid);
  Status SetMatterHidden(std::string_view userid, std::string_view implement_code, bool hidden);

  // 好差评: errc::kAlreadyExists when the case was rated already;
  // InvalidArgument for a level or an indicator outside 1..5 (indicators: 0 = not given).
  Status Rate(const Rating& rating);
  Result<std::optional<Rating>> RatingOf(std::string_view case_number);

 private:
  SqlStore& store_;
  Clock& clock_;
};

}  // namespace tongban::approval
