// HttpGet: a minimal HTTP/1.0 client over a real TCP socket, for tests.
#ifndef NSMD_TESTS_TESTING_HTTP_CLIENT_H_
#define NSMD_TESTS_TESTING_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"

namespace nsmd::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Sends `method path` to 127.0.0.1:port and reads the whole response.
absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path);

// The value of the sample on the line that starts with `series` followed by
// a space in Prometheus text `body` (e.g. `nsm_metric_value{metric="a",window="current"}`),
// or NotFound.
absl::StatusOr<double> PrometheusValue(const std::string& body, const std::string& series);

}  // namespace nsmd::testing

#endif  // NSMD_TESTS_TESTING_HTTP_CLIENT_H_
