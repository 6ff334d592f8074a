module github.com/datasurface/datasurface/tools

go 1.26.0

require (
	github.com/datasurface/datasurface/model v0.0.0
	github.com/google/go-cmp v0.7.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/mod v0.42.0
	google.golang.org/protobuf v1.36.12
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/datasurface/datasurface/proto v0.0.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/datasurface/datasurface/model => ../model
	github.com/datasurface/datasurface/proto => ../proto
)
