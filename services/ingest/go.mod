module github.com/datasurface/datasurface/services/ingest

go 1.26.0
