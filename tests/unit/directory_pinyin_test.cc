#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "directory/pinyin.h"
#include "directory/validators.h"

namespace tongban::directory {
namespace {

std::string Login(std::string_view name) {
  auto r = LoginNameFromChineseName(name);
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::string();
}

TEST(DirectoryPinyinTest, SurnameInFullGivenNameAsInitials) {
  EXPECT_EQ(Login("张三"), "zhangs");
  EXPECT_EQ(Login("李小龙"), "lixl");
  EXPECT_EQ(Login("王"), "wang");
}

TEST(DirectoryPinyinTest, CompoundSurnamesStayWhole) {
  EXPECT_EQ(Login("欧阳修"), "ouyangx");
  EXPECT_EQ(Login("尉迟恭"), "yuchig");
  EXPECT_EQ(Login("长孙无忌"), "zhangsunwj");
  EXPECT_EQ(Login("万俟卨"), "moqix");
  EXPECT_EQ(Login("诸葛亮"), "zhugel");
  EXPECT_EQ(Login("司马光"), "simag");
  EXPECT_EQ(Login("上官婉儿"), "shangguanwe");
}

struct SurnameCase {
  const char* name;
  const char* expected;
};

class DirectoryPinyinSurnameTest : public ::testing::TestWithParam<SurnameCase> {};

TEST_P(DirectoryPinyinSurnameTest, ReadsPolyphonicCharactersAsSurnames) {
  EXPECT_EQ(Login(GetParam().name), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    DirectoryPolyphonic, DirectoryPinyinSurnameTest,
    ::testing::Values(
        SurnameCase{"单田芳", "shantf"}, SurnameCase{"曾国藩", "zenggf"},
        SurnameCase{"解缙", "xiej"}, SurnameCase{"朴槿惠", "piaojh"}, SurnameCase{"仇英", "qiuy"},
        SurnameCase{"区永", "ouy"}, SurnameCase{"查良镛", "zhaly"}, SurnameCase{"盖聂", "gen"},
        SurnameCase{"乐毅", "yuey"}, SurnameCase{"燕青", "yanq"}, SurnameCase{"缪平", "miaop"},
        SurnameCase{"覃明", "qinm"}, SurnameCase{"秘书", "bis"}, SurnameCase{"员工", "yung"},
        SurnameCase{"重阳", "chongy"}, SurnameCase{"种师道", "chongsd"},
        SurnameCase{"翟志刚", "zhaizg"}, SurnameCase{"尉缭", "weil"}, SurnameCase{"沈括", "shenk"},
        SurnameCase{"葛洪", "geh"}, SurnameCase{"任正非", "renzf"}, SurnameCase{"华佗", "huat"},
        SurnameCase{"牟其中", "muqz"}, SurnameCase{"纪晓岚", "jixl"}, SurnameCase{"过客", "guok"},
        SurnameCase{"冼星海", "xianxh"}, SurnameCase{"吕布", "lvb"},
        SurnameCase{"單田芳", "shantf"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(DirectoryPinyinTest, ReadsTraditionalCharacters) {
  EXPECT_EQ(Login("張三"), "zhangs");
  EXPECT_EQ(Login("歐陽修"), "ouyangx");
}

TEST(DirectoryPinyinTest, WritesUmlautAsV) { EXPECT_EQ(Login("吕女"), "lvn"); }

TEST(DirectoryPinyinTest, SkipsSpacesAndMiddleDots) {
  EXPECT_EQ(Login(" 张 三 "), "zhangs");
  EXPECT_EQ(Login("阿沛·阿旺晋美"), "apawjm");
}

TEST(DirectoryPinyinTest, LatinLettersInTheGivenNameAreTheirOwnInitials) {
  EXPECT_EQ(Login("张A"), "zhanga");
}

TEST(DirectoryPinyinTest, NonChineseNamesBecomeLowercaseLetters) {
  EXPECT_EQ(Login("John Smith"), "johnsmith");
  EXPECT_EQ(Login("José Müller-Lüdenscheidt"), "josemullerludenscheidt");
  EXPECT_EQ(Login("O'Brien 3rd"), "obrienrd");
}

TEST(DirectoryPinyinTest, ResultsAreValidLoginNames) {
  for (const char* name : {"张三", "欧阳修", "John Smith", "阿沛·阿旺晋美"}) {
    EXPECT_TRUE(IsValidLoginName(Login(name))) << name;
  }
}

TEST(DirectoryPinyinTest, CutsLongNamesToLeaveRoomForASuffix) {
  std::string result = Login(std::string(60, 'a'));
  EXPECT_EQ(result.size(), kMaxGeneratedLoginName);
}

TEST(DirectoryPinyinTest, RejectsNamesWithoutLetters) {
  for (const char* name : {"", "   ", "123", "·", "!!"}) {
    auto r = LoginNameFromChineseName(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, errc::kInvalidArgument);
  }
}

TEST(DirectoryPinyinTest, RejectsASingleLetter) {
  EXPECT_FALSE(LoginNameFromChineseName("X").ok());
}

TEST(DirectoryPinyinTest, RejectsMalformedUtf8) {
  EXPECT_FALSE(LoginNameFromChineseName("\xe5\xbc").ok());
  EXPECT_FALSE(LoginNameFromChineseName("zhang\xff").ok());
}

TEST(DirectoryPinyinTest, GivesTheSameAnswersOnManyThreads) {
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] {
      std::string r;
      for (int k = 0; k < 50; ++k) r = Login("欧阳修") + Login("单田芳") + Login("李小龙");
      results[i] = r;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, "ouyangxshantflixl");
}

TEST(DirectoryNextFreeLoginNameTest, ReturnsTheBaseWhenFree) {
  EXPECT_EQ(NextFreeLoginName("zhangs", [](std::string_view) { return false; }), "zhangs");
}

TEST(DirectoryNextFreeLoginNameTest, AppendsOneWhenOnlyTheBaseIsTaken) {
  std::set<std::string, std::less<>> taken = {"zhangs"};
  EXPECT_EQ(NextFreeLoginName("zhangs", [&](std::string_view n) { return taken.count(n) > 0; }),
            "zhangs1");
}

TEST(DirectoryNextFreeLoginNameTest, ReturnsTheNextNumberAfterAContiguousRun) {
  for (int n : {1, 2, 3, 7, 8, 9, 1000}) {
    std::set<std::string, std::less<>> taken = {"zhangw"};
    for (int i = 1; i <= n; ++i) taken.insert("zhangw" + std::to_string(i));
    EXPECT_EQ(NextFreeLoginName("zhangw", [&](std::string_view s) { return taken.count(s) > 0; }),
              "zhangw" + std::to_string(n + 1));
  }
}

TEST(DirectoryNextFreeLoginNameTest, AsksLogarithmicallyManyQuestions) {
  int calls = 0;
  auto taken = [&calls](std::string_view s) {
    ++calls;
    if (s == "zhangw") return true;
    return std::stoi(std::string(s.substr(6))) <= 300000;
  };
  EXPECT_EQ(NextFreeLoginName("zhangw", taken), "zhangw300001");
  EXPECT_LE(calls, 2 * 20 + 2);
}

TEST(DirectoryNextFreeLoginNameTest, AlwaysReturnsANameThatIsFree) {
  // Gaps left by deleted users: any free name is acceptable, a taken one never.
  std::set<std::string, std::less<>> taken = {"li", "li1", "li2", "li4", "li5", "li6", "li7"};
  auto is_taken = [&](std::string_view s) { return taken.count(s) > 0; };
  std::string name = NextFreeLoginName("li", is_taken);
  EXPECT_FALSE(is_taken(name)) << name;
  EXPECT_TRUE(name.starts_with("li"));
}

TEST(DirectoryNextFreeLoginNameTest, GivesUpOnlyWhenEverythingIsTaken) {
  EXPECT_EQ(NextFreeLoginName("x", [](std::string_view) { return true; }), "");
}

}  // namespace
}  // namespace tongban::directory
