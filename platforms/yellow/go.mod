module github.com/datasurface/datasurface/platforms/yellow

go 1.26.0
