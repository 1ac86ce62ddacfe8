// A shared library without a manifest: loading it must fail with a clear message.
extern "C" int some_function(void) { return 42; }
