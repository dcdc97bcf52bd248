package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kiln-ml/kiln/models/chat"
	"github.com/kiln-ml/kiln/tools/kiln/serve"
)

func cmdServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, args, stderr, nil)
}

// runServe serves until ctx ends; ready, if set, gets the address listened on.
func runServe(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := newFlags("serve", stderr)
	var mf modelFlags
	mf.register(fs)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 8080, "port to listen on (0: any free port)")
	parallel := fs.Int("parallel", 1, "sessions generating at once; more requests wait")
	fs.IntVar(parallel, "np", 1, "same as --parallel")
	maxQueue := fs.Int("max-queue", 64, "requests that may wait for a session; more get 503")
	maxBody := fs.Int64("max-body", 1<<20, "largest request body in bytes; larger gets 413")
	tmplName := fs.String("chat-template", "", templateFlagUsage)
	alias := fs.String("alias", "", "model name in /v1/models (default: general.name)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *port < 0 || *port > 65535:
		return fmt.Errorf("%w: --port %d must be in [0, 65535]", errUsage, *port)
	case *parallel < 1 || *parallel > 1024:
		return fmt.Errorf("%w: --parallel %d must be in [1, 1024]", errUsage, *parallel)
	case *maxQueue < 1:
		return fmt.Errorf("%w: --max-queue %d must be positive", errUsage, *maxQueue)
	case *maxBody < 1:
		return fmt.Errorf("%w: --max-body %d must be positive", errUsage, *maxBody)
	}
	if err := mf.check(); err != nil {
		return err
	}
	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	logger := log.New(stderr, "kiln serve: ", log.LstdFlags)
	tmpl, stops, err := chatTemplate(m, *tmplName)
	if errors.Is(err, chat.ErrNoTemplate) {
		logger.Printf("%v: /v1/chat/completions will answer 400", err)
	} else if err != nil {
		return err
	}
	srv, err := serve.New(serve.Config{Model: m, ModelID: *alias, Template: tmpl, Stop: stops, Parallel: *parallel,
		MaxQueue: *maxQueue, MaxBodyBytes: *maxBody, Log: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	logger.Printf("%s on http://%s (%d sessions, context %d)", m.Info().Name, ln.Addr(), *parallel, m.Ctx)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Finish what is running, but not forever: open streams are cut after a while.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	logger.Printf("stopped")
	return nil
}
