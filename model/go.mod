module github.com/datasurface/datasurface/model

go 1.26.0

require (
	github.com/datasurface/datasurface/proto v0.0.0
	github.com/google/go-cmp v0.7.0
	google.golang.org/protobuf v1.36.12
	gopkg.in/yaml.v3 v3.0.1
)

replace github.com/datasurface/datasurface/proto => ../proto
