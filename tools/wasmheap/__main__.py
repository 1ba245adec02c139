from tools.wasmheap import main

main()
