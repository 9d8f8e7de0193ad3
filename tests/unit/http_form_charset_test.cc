// Form bodies in a declared charset (GBK, GB18030) and multipart/form-data,
// and unreadable parameters carried as Request::param_error.
#include <gtest/gtest.h>

#include "http/charset.h"
#include "http/form.h"
#include "http/request.h"

namespace tongban::http {
namespace {

constexpr std::string_view kGbkForm = "application/x-www-form-urlencoded; charset=GBK";

Result<Request> Post(std::string_view content_type, std::string body, bool keep = true) {
  return Request::Create({.method = "POST",
                          .target = "/sso/servlet/simpleauth",
                          .headers = {{"Content-Type", std::string(content_type)}},
                          .body = std::move(body),
                          .keep_param_error = keep});
}

TEST(HttpFormCharset, DecodesAGbkFormIntoUtf8) {
  // 张三 in GBK is D5 C5 C8 FD.
  auto r = Post(kGbkForm, "loginname=zhangsan&username=%D5%C5%C8%FD");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->param_error());
  EXPECT_EQ(r->ParamOr("username"), "张三");
  EXPECT_EQ(r->ParamOr("loginname"), "zhangsan");
}

TEST(HttpFormCharset, DecodesGb2312AndGb18030LabelsAndFourByteSequences) {
  auto gb2312 = Post("application/x-www-form-urlencoded;charset=\"gb2312\"", "u=%D5%C5");
  ASSERT_TRUE(gb2312.ok());
  EXPECT_EQ(gb2312->ParamOr("u"), "张");
  // U+20000 (CJK Extension B) is the four-byte GB18030 sequence 95 32 82 36.
  auto gb18030 = Post("application/x-www-form-urlencoded; charset=GB18030", "u=%952%826");
  ASSERT_TRUE(gb18030.ok());
  EXPECT_EQ(gb18030->ParamOr("u"), "\xF0\xA0\x80\x80");
}

TEST(HttpFormCharset, BadGbkBytesAreAParamErrorNamingTheParameter) {
  // A lead byte with nothing after it is not GBK.
  auto r = Post(kGbkForm, "method=idValidation&username=%D5");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->param_error());
  EXPECT_EQ(r->param_error()->code, errc::kInvalidArgument);
  EXPECT_NE(r->param_error()->message.find("username"), std::string::npos);
  EXPECT_EQ(r->ParamOr("method"), "idValidation");  // read before the bad one
}

TEST(HttpFormCharset, InvalidUtf8IsAParamErrorOrA400ForOrdinaryRoutes) {
  auto kept = Post("application/x-www-form-urlencoded", "username=%D5%C5");
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept->param_error());
  EXPECT_NE(kept->param_error()->message.find("UTF-8"), std::string::npos);
  EXPECT_FALSE(Post("application/x-www-form-urlencoded", "username=%D5%C5", false).ok());
}

TEST(HttpFormCharset, UnsupportedCharsetIsAParamError) {
  auto r = Post("application/x-www-form-urlencoded; charset=big5", "a=1");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->param_error());
  EXPECT_NE(r->param_error()->message.find("big5"), std::string::npos);
}

TEST(HttpFormCharset, JavaDefaultLatin1LabelIsReadAsUtf8) {
  auto r = Post("application/x-www-form-urlencoded; charset=ISO-8859-1", "u=%E5%BC%A0");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->param_error());
  EXPECT_EQ(r->ParamOr("u"), "张");
}

TEST(HttpFormCharset, CharsetLabelsAreCaseInsensitive) {
  EXPECT_EQ(*CharsetFromLabel("Gbk"), Charset::kGb18030);
  EXPECT_EQ(*CharsetFromLabel("UTF-8"), Charset::kUtf8);
  EXPECT_EQ(*CharsetFromLabel(""), Charset::kUtf8);
  EXPECT_FALSE(CharsetFromLabel("shift_jis").ok());
}

std::string Multipart(std::string_view boundary, std::string_view parts) {
  return std::string(parts) + "--" + std::string(boundary) + "--\r\n";
}

std::string Field(std::string_view boundary, std::string_view headers, std::string_view value) {
  return "--" + std::string(boundary) + "\r\n" + std::string(headers) + "\r\n\r\n" +
         std::string(value) + "\r\n";
}

TEST(HttpFormMultipart, ReadsFieldsAndSkipsFiles) {
  std::string b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  std::string body = Multipart(
      b, Field(b, "Content-Disposition: form-data; name=\"method\"", "getUserInfo") +
             Field(b, "Content-Disposition: form-data; name=\"username\"", "李四") +
             Field(b,
                   "Content-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n"
                   "Content-Type: image/png",
                   std::string("\x89PNG\r\n\x1a\n\xff", 9)) +
             Field(b, "Content-Disposition: form-data; name=\"multi\"", "line1\r\nline2"));
  auto r = Post("multipart/form-data; boundary=" + b, body);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->param_error()) << r->param_error()->message;
  EXPECT_EQ(r->ParamOr("method"), "getUserInfo");
  EXPECT_EQ(r->ParamOr("username"), "李四");
  EXPECT_EQ(r->ParamOr("multi"), "line1\r\nline2");
  EXPECT_FALSE(r->Param("photo"));
}

TEST(HttpFormMultipart, HonoursAPartCharsetAndAQuotedBoundaryWithAPreamble) {
  std::string b = "x;y z";
  std::string body = "preamble to ignore\r\n" +
                     Multipart(b, Field(b,
                                        "Content-Disposition: form-data; name=\"username\"\r\n"
                                        "Content-Type: text/plain; charset=GBK",
                                        "\xD5\xC5\xC8\xFD"));
  auto r = Post("multipart/form-data; boundary=\"x;y z\"", body);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->param_error()) << r->param_error()->message;
  EXPECT_EQ(r->ParamOr("username"), "张三");
}

TEST(HttpFormMultipart, TruncatedBodyOrMissingBoundaryIsAParamError) {
  std::string b = "BOUNDARY";
  auto truncated =
      Post("multipart/form-data; boundary=BOUNDARY",
           "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue-without-end");
  ASSERT_TRUE(truncated.ok());
  EXPECT_TRUE(truncated->param_error());
  auto no_boundary = Post("multipart/form-data", "a=1");
  ASSERT_TRUE(no_boundary.ok());
  EXPECT_TRUE(no_boundary->param_error());
}

TEST(HttpFormMultipart, InvalidUtf8InAPartIsAParamError) {
  std::string b = "B";
  auto r = Post("multipart/form-data; boundary=B",
                Multipart(b, Field(b, "Content-Disposition: form-data; name=\"u\"", "\xD5\xC5")));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->param_error());
  EXPECT_NE(r->param_error()->message.find("'u'"), std::string::npos);
}

TEST(HttpFormMultipart, MediaTypeParamUnquotesAndIgnoresOtherParameters) {
  EXPECT_EQ(*MediaTypeParam("multipart/form-data; charset=utf-8; boundary=\"a\\\"b\"", "boundary"),
            "a\"b");
  EXPECT_FALSE(MediaTypeParam("form-data; filename=\"x\"", "name"));
}

}  // namespace
}  // namespace tongban::http
