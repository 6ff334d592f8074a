package metrics

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
)

var (
	rpcRequests = Counter("rpc_requests_total",
		"Connect, gRPC and gRPC-Web requests handled, by procedure and result code (ok or the Connect code).",
		"procedure", "code")
	rpcDuration = Histogram("rpc_duration_seconds",
		"Time to handle a request (a stream: until the handler returned), by procedure.", nil,
		"procedure")
)

// ConnectInterceptor counts the requests a Connect handler serves (datasurface_rpc_requests_total
// by procedure and code) and times them (datasurface_rpc_duration_seconds). Add it to a handler
// with connect.WithInterceptors; clients pass through untouched.
func ConnectInterceptor() connect.Interceptor { return rpcInterceptor{} }

type rpcInterceptor struct{}

func (rpcInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		start := time.Now()
		resp, err := next(ctx, req)
		observeRPC(req.Spec().Procedure, start, err)
		return resp, err
	}
}

func (rpcInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (rpcInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		observeRPC(conn.Spec().Procedure, start, err)
		return err
	}
}

func observeRPC(procedure string, start time.Time, err error) {
	rpcRequests.WithLabelValues(procedure, Code(err)).Inc()
	rpcDuration.WithLabelValues(procedure).Observe(time.Since(start).Seconds())
}

// Code is the code label of an RPC result: "ok", or the Connect code name of err ("unknown" for
// an error that carries none).
func Code(err error) string {
	if err == nil {
		return "ok"
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code().String()
	}
	if errors.Is(err, context.Canceled) {
		return connect.CodeCanceled.String()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.CodeDeadlineExceeded.String()
	}
	return connect.CodeUnknown.String()
}
