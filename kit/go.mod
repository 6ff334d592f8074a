module github.com/datasurface/datasurface/kit

go 1.26.0
