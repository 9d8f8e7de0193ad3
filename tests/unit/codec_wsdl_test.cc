// The generated WSDL against a real SOAP client: python3-zeep (Debian's, offline) loads it,
// builds requests that ParseSoapRequest must read back, and reads our responses and faults
// through a transport that replays them. This is the wire-compatibility check for the SOAP
// binding; tests skip when /usr/bin/python3 cannot import zeep.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <string>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/soap.h"

namespace tongban::codec {
namespace {

namespace fs = std::filesystem;

WsdlService SimpleAuthService() {
  const std::vector<std::string> token_params = {"servicecode", "time", "sign", "token",
                                                 "datatype"};
  return WsdlService{
      .name = "SimpleAuthService",
      .target_namespace = std::string(kSsoServiceNamespace),
      .endpoint_url = "http://127.0.0.1:8080/sso/service/SimpleAuthService?a=1&b=2",
      .operations = {
          {"ticketValidation", {"servicecode", "time", "sign", "st", "datatype"}},
          {"idValidation",
           {"servicecode", "time", "sign", "loginname", "orgcoding", "password", "encryptiontype",
            "datatype"}},
          {"getUserInfo", token_params},
          {"generateST", {"servicecode", "time", "sign", "proxyapp", "token", "datatype"}},
          {"logout", token_params},
          {"getUserSys", token_params},
          {"getUserRole", token_params},
      }};
}

// Loads the WSDL given as argv[1] with zeep and, by argv[2]:
//   request: prints the envelope zeep builds for operation argv[3] with the keyword arguments
//            in the JSON file argv[4];
//   call:    calls that operation through a transport that answers with the file argv[5]
//            and prints {"address", "soapaction", "result"} as JSON;
//   fault:   the same, expecting a zeep Fault, and prints {"code", "message"}.
constexpr std::string_view kZeepScript = R"PY(
import json, sys
import requests, zeep
from lxml import etree

wsdl, mode, operation, kwargs_path = sys.argv[1:5]
kwargs = json.load(open(kwargs_path, encoding='utf-8'))
sent = {}

class Replay(zeep.Transport):
    def post_xml(self, address, envelope, headers):
        sent['address'] = address
        sent['soapaction'] = headers.get('SOAPAction')
        response = requests.Response()
        response.status_code = 500 if mode == 'fault' else 200
        response._content = open(sys.argv[5], 'rb').read()
        response.headers['Content-Type'] = 'text/xml; charset=utf-8'
        response.encoding = 'utf-8'
        return response

client = zeep.Client(wsdl, transport=Replay())
if mode == 'request':
    node = client.create_message(client.service, operation, **kwargs)
    sys.stdout.write(etree.tostring(node, encoding='unicode'))
elif mode == 'call':
    sent['result'] = getattr(client.service, operation)(**kwargs)
    sys.stdout.write(json.dumps(sent, ensure_ascii=False))
else:
    try:
        getattr(client.service, operation)(**kwargs)
        sys.stdout.write('{}')
    except zeep.exceptions.Fault as fault:
        sys.stdout.write(json.dumps({'code': fault.code, 'message': fault.message},
                                    ensure_ascii=False))
)PY";

class CodecWsdlZeepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "codec_wsdl_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    if (std::system("/usr/bin/python3 -c 'import zeep' >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "/usr/bin/python3 with zeep is not available";
    }
    Write("service.wsdl", BuildWsdl(SimpleAuthService()));
    Write("client.py", kZeepScript);
  }

  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void Write(const std::string& name, std::string_view content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  // Runs the client script; returns its stdout, failing the test when it exits non-zero.
  std::string RunZeep(std::string_view mode, std::string_view operation,
                      std::string_view kwargs_json, std::string_view response = "") {
    Write("kwargs.json", kwargs_json);
    Write("response.xml", response);
    const std::string command =
        "PYTHONIOENCODING=utf-8 PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 " +
        (dir_ / "client.py").string() + " " + (dir_ / "service.wsdl").string() + " " +
        std::string(mode) + " " + std::string(operation) + " " + (dir_ / "kwargs.json").string() +
        " " + (dir_ / "response.xml").string() + " 2>" + (dir_ / "stderr.txt").string();
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
      ADD_FAILURE() << "popen failed";
      return "";
    }
    std::string output;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
    const int status = pclose(pipe);
    if (status != 0) {
      std::stringstream err;
      err << std::ifstream(dir_ / "stderr.txt").rdbuf();
      ADD_FAILURE() << "zeep client failed (" << status << "):\n" << err.str();
    }
    return output;
  }

  fs::path dir_;
};

TEST(CodecWsdlTest, WsdlNamesFollowTheSpecificationsConventions) {
  pugi::xml_document doc;
  const std::string wsdl = BuildWsdl(SimpleAuthService());
  ASSERT_TRUE(doc.load_string(wsdl.c_str())) << wsdl;
  const pugi::xml_node definitions = doc.document_element();
  EXPECT_STREQ(definitions.attribute("targetNamespace").value(),
               "http://webservice.api.commnetsoft.com");
  EXPECT_STREQ(definitions.child("wsdl:portType").attribute("name").value(),
               "SimpleAuthServicePortType");
  const pugi::xml_node binding = definitions.child("wsdl:binding");
  EXPECT_STREQ(binding.attribute("name").value(), "SimpleAuthServiceHttpBinding");
  EXPECT_STREQ(binding.child("soap:binding").attribute("style").value(), "document");
  EXPECT_STREQ(
      binding.child("wsdl:operation").child("soap:operation").attribute("soapAction").value(), "");
  const pugi::xml_node port = definitions.child("wsdl:service").child("wsdl:port");
  EXPECT_STREQ(port.attribute("name").value(), "SimpleAuthServiceHttpPort");
  EXPECT_STREQ(port.child("soap:address").attribute("location").value(),
               "http://127.0.0.1:8080/sso/service/SimpleAuthService?a=1&b=2");
  EXPECT_STREQ(
      definitions.child("wsdl:types").child("xsd:schema").attribute("elementFormDefault").value(),
      "qualified");
}

TEST_F(CodecWsdlZeepTest, ZeepRequestParsesBackIntoTheSameOperationAndParams) {
  const std::string envelope = RunZeep(
      "request", "ticketValidation",
      R"({"servicecode":"app1","time":"20240102030405","sign":"0123456789abcdef0123456789abcdef",)"
      R"("st":"8afac2ed6069c81501606f571e763a70-ticket","datatype":"json"})");
  Result<SoapCall> call = ParseSoapRequest(envelope);
  ASSERT_TRUE(call.ok()) << call.error().message << "\n" << envelope;
  EXPECT_EQ(call->version, SoapVersion::k11);
  EXPECT_EQ(call->operation, "ticketValidation");
  EXPECT_EQ(call->operation_namespace, kSsoServiceNamespace);
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"servicecode", "app1"},
                                                  {"time", "20240102030405"},
                                                  {"sign", "0123456789abcdef0123456789abcdef"},
                                                  {"st", "8afac2ed6069c81501606f571e763a70-ticket"},
                                                  {"datatype", "json"}}));
}

TEST_F(CodecWsdlZeepTest, ZeepRequestCarriesChineseAndMarkupTextExactly) {
  const std::string envelope =
      RunZeep("request", "idValidation",
              R"({"servicecode":"app1","loginname":"张三","password":"a<b>&c\"d'"})");
  Result<SoapCall> call = ParseSoapRequest(envelope);
  ASSERT_TRUE(call.ok()) << call.error().message << "\n" << envelope;
  EXPECT_EQ(call->operation, "idValidation");
  ASSERT_NE(call->Find("loginname"), nullptr);
  EXPECT_EQ(*call->Find("loginname"), "张三");
  ASSERT_NE(call->Find("password"), nullptr);
  EXPECT_EQ(*call->Find("password"), "a<b>&c\"d'");
}

TEST_F(CodecWsdlZeepTest, ParamsZeepIsNotGivenAreNotSent) {
  const std::string envelope = RunZeep("request", "getUserInfo", R"({"token":"tok"})");
  Result<SoapCall> call = ParseSoapRequest(envelope);
  ASSERT_TRUE(call.ok()) << call.error().message << "\n" << envelope;
  EXPECT_EQ(call->params, (std::vector<SoapParam>{{"token", "tok"}}));
}

TEST_F(CodecWsdlZeepTest, ZeepCallsTheEndpointAndReadsOurResponse) {
  const std::string reply = RenderJson(Value::Object()
                                           .Set("result", "0")
                                           .Set("errmsg", "成功")
                                           .Set("token", "t<&>")
                                           .Set("username", "张三"));
  const std::string output =
      RunZeep("call", "ticketValidation", R"({"st":"ST-1","datatype":"json"})",
              BuildSoapResponse("ticketValidation", kSsoServiceNamespace, reply));
  Result<Value> seen = ParseJson(output);
  ASSERT_TRUE(seen.ok()) << seen.error().message << "\n" << output;
  EXPECT_EQ((*seen)["address"].AsString(),
            "http://127.0.0.1:8080/sso/service/SimpleAuthService?a=1&b=2");
  EXPECT_EQ((*seen)["soapaction"].AsString(), "\"\"");  // the empty soapAction, quoted
  EXPECT_EQ((*seen)["result"].AsString(), reply);
}

TEST_F(CodecWsdlZeepTest, ZeepReadsOurXmlReplyInsideOut) {
  const std::string reply =
      RenderSsoXml(Value::Object().Set("result", "6001").Set("errmsg", "票据已过期"));
  const std::string output =
      RunZeep("call", "ticketValidation", R"({"st":"ST-1"})",
              BuildSoapResponse("ticketValidation", kSsoServiceNamespace, reply));
  Result<Value> seen = ParseJson(output);
  ASSERT_TRUE(seen.ok()) << seen.error().message << "\n" << output;
  EXPECT_EQ((*seen)["result"].AsString(), reply);
}

TEST_F(CodecWsdlZeepTest, ZeepReadsOurFaultAsAFault) {
  const std::string output = RunZeep("fault", "getUserInfo", R"({"token":"tok"})",
                                     BuildSoapFault(SoapFaultCode::kClient, "签名错误 & <bad>"));
  Result<Value> seen = ParseJson(output);
  ASSERT_TRUE(seen.ok()) << seen.error().message << "\n" << output;
  EXPECT_EQ((*seen)["code"].ToText(), "soap:Client");
  EXPECT_EQ((*seen)["message"].ToText(), "签名错误 & <bad>");
}

}  // namespace
}  // namespace tongban::codec
