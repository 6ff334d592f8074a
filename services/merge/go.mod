module github.com/datasurface/datasurface/services/merge

go 1.26.0

require (
	github.com/datasurface/datasurface/kit v0.0.0
	github.com/datasurface/datasurface/model v0.0.0
	github.com/datasurface/datasurface/platforms/yellow v0.0.0
	github.com/datasurface/datasurface/proto v0.0.0
	github.com/datasurface/datasurface/services/ingest v0.0.0
	github.com/google/go-cmp v0.7.0
	github.com/jackc/pgx/v5 v5.12.0
)

require (
	github.com/confluentinc/confluent-kafka-go/v2 v2.12.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/datasurface/datasurface/kit => ../../kit
	github.com/datasurface/datasurface/model => ../../model
	github.com/datasurface/datasurface/platforms/yellow => ../../platforms/yellow
	github.com/datasurface/datasurface/proto => ../../proto
	github.com/datasurface/datasurface/services/ingest => ../ingest
)
