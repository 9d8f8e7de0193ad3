// HTML escaping and template filling of the login pages.
#include <gtest/gtest.h>

#include "sso/html.h"

namespace tongban::sso {
namespace {

TEST(HtmlEscapeTest, EscapesEveryCharacterThatCouldLeaveTextOrAnAttribute) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x" onclick='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlEscapeTest, LeavesChineseAndPlainTextAlone) {
  EXPECT_EQ(HtmlEscape("张三 zhangs 123"), "张三 zhangs 123");
}

TEST(FillTemplateTest, DoubleBracesAreEscaped) {
  EXPECT_EQ(FillTemplate("<p>{{name}}</p>", {{"name", "<b>x</b>"}}), "<p>&lt;b&gt;x&lt;/b&gt;</p>");
}

TEST(FillTemplateTest, TripleBracesAreInsertedAsTheyAre) {
  EXPECT_EQ(FillTemplate("<div>{{{body}}}</div>", {{"body", "<b>x</b>"}}), "<div><b>x</b></div>");
}

TEST(FillTemplateTest, AnAttributeValueCannotBreakOut) {
  EXPECT_EQ(
      FillTemplate(R"x(<input value="{{v}}">)x", {{"v", R"x(" autofocus onfocus="alert(1))x"}}),
      R"x(<input value="&quot; autofocus onfocus=&quot;alert(1)">)x");
}

TEST(FillTemplateTest, ANameWithoutAValueBecomesEmpty) {
  EXPECT_EQ(FillTemplate("a{{missing}}b", {}), "ab");
}

TEST(FillTemplateTest, AValueIsNotItselfExpanded) {
  EXPECT_EQ(FillTemplate("{{a}}", {{"a", "{{b}}"}, {"b", "x"}}), "{{b}}");
}

TEST(FillTemplateTest, AnUnterminatedPlaceholderIsKeptAsText) {
  EXPECT_EQ(FillTemplate("x {{oops", {{"oops", "y"}}), "x {{oops");
}

}  // namespace
}  // namespace tongban::sso
