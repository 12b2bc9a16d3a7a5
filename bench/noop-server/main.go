// A no-op HTTP server for bench/http-generator.ts: answers every request with 200 "ok" at once,
// so the benchmark measures the load generators, not the service. Listens on ADDR (":8080").
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	ok := []byte("ok")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(ok)
	})
	log.Fatal(http.ListenAndServe(addr, handler))
}
