package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiling endpoints on addr (CM_PPROF_ADDR), for diagnosing performance;
// keep it on a loopback address.
func startPprof(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		logger.Info("Profiling endpoints are serving", "addr", "http://"+addr+"/debug/pprof/")
		if err := srv.ListenAndServe(); err != nil {
			logger.Warn("Profiling server stopped", "error", err.Error())
		}
	}()
}
