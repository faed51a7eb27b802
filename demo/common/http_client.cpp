#include "common/http_client.hpp"

#include <cpprest/http_client.h>

#include <exception>

namespace demo {

struct HttpClient::Impl {
  web::http::client::http_client client;
  Headers headers;
  Impl(const std::string& base_url, std::chrono::milliseconds timeout, Headers extra)
      : client(base_url, config_for(timeout)), headers(std::move(extra)) {}

  static web::http::client::http_client_config config_for(std::chrono::milliseconds timeout) {
    web::http::client::http_client_config config;
    config.set_timeout(timeout);
    return config;
  }

  HttpReply send(web::http::http_request request) {
    for (const auto& [name, value] : headers) request.headers().add(name, value);
    HttpReply reply;
    try {
      auto response = client.request(request).get();
      reply.status = response.status_code();
      auto bytes = response.extract_vector().get();
      reply.body.assign(bytes.begin(), bytes.end());
    } catch (const std::exception& e) {
      reply.status = 0;
      reply.error = e.what();
    }
    return reply;
  }
};

HttpClient::HttpClient(const std::string& base_url, std::chrono::milliseconds timeout, Headers headers)
    : impl_(std::make_unique<Impl>(base_url, timeout, std::move(headers))) {}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::get(const std::string& path) {
  web::http::http_request request(web::http::methods::GET);
  request.set_request_uri(path);
  return impl_->send(std::move(request));
}

HttpReply HttpClient::post(const std::string& path, const std::string& body, const std::string& content_type) {
  web::http::http_request request(web::http::methods::POST);
  request.set_request_uri(path);
  request.set_body(body, content_type);
  return impl_->send(std::move(request));
}

}  // namespace demo
