module github.com/datasurface/datasurface/tools

go 1.26.0
