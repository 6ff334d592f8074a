module github.com/datasurface/datasurface/examples

go 1.26.0
