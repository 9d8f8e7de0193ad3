// The SOAP side of ticket validation: parsing a ticketValidation request envelope and building
// the response around a rendered reply. Baseline in the same run: pugixml loading the same
// envelope with default options (the floor for any pugixml-based parser). Report ratios.
// Run a Release build: build-dir/bench/codec_soap_bench
#include <benchmark/benchmark.h>

#include <pugixml.hpp>
#include <string>

#include "codec/render.h"
#include "codec/soap.h"

namespace tongban::codec {
namespace {

// As zeep and Axis2 send it: qualified children, SOAP 1.1.
constexpr std::string_view kRequest =
    R"(<?xml version="1.0" encoding="UTF-8"?>)"
    R"(<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">)"
    R"(<soap-env:Body><ns0:ticketValidation xmlns:ns0="http://webservice.api.commnetsoft.com">)"
    R"(<ns0:servicecode>app1</ns0:servicecode><ns0:time>20240102030405</ns0:time>)"
    R"(<ns0:sign>0123456789abcdef0123456789abcdef</ns0:sign>)"
    R"(<ns0:st>8afac2ed6069c81501606f571e763a70-ticket</ns0:st><ns0:datatype>json</ns0:datatype>)"
    R"(</ns0:ticketValidation></soap-env:Body></soap-env:Envelope>)";

void BM_SoapTicketValidation_Parse(benchmark::State& state) {
  for (auto _ : state) {
    Result<SoapCall> call = ParseSoapRequest(kRequest);
    benchmark::DoNotOptimize(call);
  }
}
BENCHMARK(BM_SoapTicketValidation_Parse);

void BM_SoapTicketValidation_Parse_BaselinePugixmlLoad(benchmark::State& state) {
  for (auto _ : state) {
    pugi::xml_document doc;
    benchmark::DoNotOptimize(doc.load_buffer(kRequest.data(), kRequest.size()));
  }
}
BENCHMARK(BM_SoapTicketValidation_Parse_BaselinePugixmlLoad);

void BM_SoapTicketValidation_BuildResponse(benchmark::State& state) {
  const std::string reply =
      RenderJson(Value::Object()
                     .Set("result", "0")
                     .Set("errmsg", "成功")
                     .Set("token", "8a1189bf8caba36b018cae241546098c-commonToken")
                     .Set("userid", "8a1189bf8caba36b018cae241546098c")
                     .Set("loginname", "zhangs")
                     .Set("username", "张三"));
  for (auto _ : state) {
    std::string out = BuildSoapResponse("ticketValidation", kSsoServiceNamespace, reply);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SoapTicketValidation_BuildResponse);

}  // namespace
}  // namespace tongban::codec
