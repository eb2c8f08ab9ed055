{
  "targets": [
    {
      "target_name": "kvfile",
      "sources": ["kvfile.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
