#include "http/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace tongban::http {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

class HttpStaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("tongban_static_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "web";
    Write(root_ / "index.html", "<h1>home</h1>");
    Write(root_ / "css" / "site.css", "body{}");
    Write(root_ / "docs" / "index.html", "<h1>docs</h1>");
    Write(root_ / ".env", "SECRET=1");
    Write(base_ / "webX" / "secret.txt", "sibling secret");
    Write(base_ / "outside.txt", "outside secret");
    fs::create_symlink(base_ / "outside.txt", root_ / "leak.txt");
    fs::create_symlink(base_ / "webX", root_ / "leakdir");
    fs::create_symlink(root_ / "css" / "site.css", root_ / "alias.css");
    auto files = StaticFiles::Create("/static/", root_);
    ASSERT_TRUE(files.ok()) << files.error().message;
    files_.emplace(std::move(files).value());
  }
  void TearDown() override { fs::remove_all(base_); }

  Response Get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto request = Request::Create({.target = std::move(target), .headers = std::move(headers)});
    EXPECT_TRUE(request.ok());
    Response response;
    (*files_)(*request, response);
    return response;
  }

  fs::path base_;
  fs::path root_;
  std::optional<StaticFiles> files_;
};

TEST_F(HttpStaticFilesTest, ServesAFileWithItsContentType) {
  Response r = Get("/static/css/site.css");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "body{}");
  EXPECT_EQ(r.content_type(), "text/css;charset=utf-8");
  EXPECT_EQ(r.Header("X-Content-Type-Options"), std::optional<std::string_view>("nosniff"));
}

TEST_F(HttpStaticFilesTest, ServesIndexHtmlForADirectory) {
  Response r = Get("/static/docs/");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "<h1>docs</h1>");
  EXPECT_EQ(r.content_type(), "text/html;charset=utf-8");
  EXPECT_EQ(Get("/static/").body(), "<h1>home</h1>");
}

TEST_F(HttpStaticFilesTest, RedirectsDirectoryWithoutTrailingSlash) {
  Response r = Get("/static/docs?x=1");
  EXPECT_EQ(r.status(), 301);
  EXPECT_EQ(r.Header("Location"), std::optional<std::string_view>("/static/docs/?x=1"));
}

TEST_F(HttpStaticFilesTest, MissingFileIs404) { EXPECT_EQ(Get("/static/nope.js").status(), 404); }

TEST_F(HttpStaticFilesTest, RefusesHiddenFiles) { EXPECT_EQ(Get("/static/.env").status(), 404); }

TEST_F(HttpStaticFilesTest, RefusesBackslashTraversal) {
  EXPECT_EQ(Get("/static/css/..%5C..%5Coutside.txt").status(), 404);
}

TEST_F(HttpStaticFilesTest, RefusesSymlinkToAFileOutsideTheRoot) {
  Response r = Get("/static/leak.txt");
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.body().find("secret"), std::string::npos);
}

TEST_F(HttpStaticFilesTest, RefusesSymlinkToASiblingDirectorySharingTheRootsNamePrefix) {
  EXPECT_EQ(Get("/static/leakdir/secret.txt").status(), 404);
}

TEST_F(HttpStaticFilesTest, FollowsSymlinkThatStaysInsideTheRoot) {
  Response r = Get("/static/alias.css");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body(), "body{}");
}

TEST_F(HttpStaticFilesTest, AnswersMatchingIfNoneMatchWith304) {
  Response first = Get("/static/css/site.css");
  auto etag = first.Header("ETag");
  ASSERT_TRUE(etag.has_value());
  Response second = Get("/static/css/site.css", {{"If-None-Match", std::string(*etag)}});
  EXPECT_EQ(second.status(), 304);
  EXPECT_TRUE(second.body().empty());
}

TEST_F(HttpStaticFilesTest, RejectsNonGetMethods) {
  auto request = Request::Create({.method = "POST", .target = "/static/css/site.css"});
  ASSERT_TRUE(request.ok());
  Response response;
  (*files_)(*request, response);
  EXPECT_EQ(response.status(), 405);
}

TEST(HttpStaticFilesCreate, FailsForMissingRoot) {
  auto files = StaticFiles::Create("/static/", "/nonexistent/tongban/web");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().code, errc::kNotFound);
}

TEST(HttpStaticFilesContentType, KnowsCommonWebTypes) {
  EXPECT_EQ(StaticFiles::ContentTypeFor("app.JS"), "text/javascript;charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentTypeFor("logo.svg"), "image/svg+xml");
  EXPECT_EQ(StaticFiles::ContentTypeFor("font.woff2"), "font/woff2");
  EXPECT_EQ(StaticFiles::ContentTypeFor("README"), "application/octet-stream");
}

}  // namespace
}  // namespace tongban::http
