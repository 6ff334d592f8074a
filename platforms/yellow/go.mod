module github.com/datasurface/datasurface/platforms/yellow

go 1.26.0

require (
	github.com/datasurface/datasurface/kit v0.0.0
	github.com/datasurface/datasurface/model v0.0.0
	github.com/datasurface/datasurface/proto v0.0.0
	github.com/google/go-cmp v0.7.0
	github.com/jackc/pgx/v5 v5.12.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/datasurface/datasurface/kit => ../../kit
	github.com/datasurface/datasurface/model => ../../model
	github.com/datasurface/datasurface/proto => ../../proto
)
