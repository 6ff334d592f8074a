module github.com/datasurface/datasurface/test/e2e

go 1.26.0
