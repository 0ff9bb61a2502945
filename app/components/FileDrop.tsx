// A drop zone with a file picker inside: drag files onto it, or choose them. Either way onFiles gets the
// File list. The zone is a labelled region; the picker is a labelled file input (tests use both).
import { useState, type DragEvent, type ReactNode } from 'react';

export function FileDrop({ label, accept, onFiles, children }: {
  label: string;
  accept?: string;
  onFiles: (files: File[]) => void;
  children?: ReactNode;
}) {
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = [...e.dataTransfer.files];
    if (files.length) onFiles(files);
  };
  return (
    <div
      role="region" aria-label={label} className={over ? 'file-drop over' : 'file-drop'}
      onDragOver={(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <p>Drop files here, or</p>
      <label className="file-pick">
        Choose files
        <input
          type="file" multiple accept={accept} aria-label="Choose files to import"
          onChange={(e) => { const files = [...(e.target.files ?? [])]; e.target.value = ''; if (files.length) onFiles(files); }}
        />
      </label>
      {children}
    </div>
  );
}
