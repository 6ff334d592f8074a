module github.com/datasurface/datasurface/services/modelsvc

go 1.26.0
