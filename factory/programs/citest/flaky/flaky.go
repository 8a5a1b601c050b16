// Package flaky has a test that fails on some runs (CITEST_FLAKY=fail).
package flaky

import "os"

// Ready reports whether the environment is ready; it is not when
// CITEST_FLAKY=fail, as a timing-dependent check would sometimes not be.
func Ready() bool { return os.Getenv("CITEST_FLAKY") != "fail" }
